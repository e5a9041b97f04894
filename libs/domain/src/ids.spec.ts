import { isId, newId } from './ids';

describe('ids', () => {
  it('are prefixed and valid', () => {
    const id = newId('container');
    expect(id).toMatch(/^ctr_[0-9a-z]{26}$/);
    expect(isId('container', id)).toBe(true);
    expect(isId('operation', id)).toBe(false);
  });

  it('sort in creation order, even within one millisecond', () => {
    const ids = Array.from({ length: 500 }, () => newId('operation', 1_700_000_000_000));
    expect([...ids].sort()).toEqual(ids);
    expect(new Set(ids).size).toBe(ids.length);
    const later = newId('operation', 1_700_000_000_001);
    expect(later > ids[ids.length - 1]).toBe(true);
  });
});
