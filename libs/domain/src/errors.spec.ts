import { ConflictError, InternalError, NotFoundError, deserializeError, serializeError } from './errors';

describe('errors across processes', () => {
  it('keep their class, reason and message through serialization', () => {
    const back = deserializeError(serializeError(new NotFoundError('image x is not here', 'ImageNotFound')));
    expect(back).toBeInstanceOf(NotFoundError);
    expect(back.reason).toBe('ImageNotFound');
    expect(back.message).toBe('image x is not here');
    expect(deserializeError(serializeError(new ConflictError('busy')))).toBeInstanceOf(ConflictError);
  });

  it('turn unknown errors into Internal ones', () => {
    expect(serializeError(new Error('boom'))).toEqual({ class: 'Internal', reason: 'Internal', message: 'boom' });
    expect(deserializeError(serializeError('text'))).toBeInstanceOf(InternalError);
  });
});
