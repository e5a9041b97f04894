import { Transform } from 'class-transformer';

/** Query booleans: `true`/`1` and `false`/`0`; anything else fails validation. */
export const ToBoolean = () =>
  Transform(({ value }) =>
    value === 'true' || value === '1' || value === true ? true : value === 'false' || value === '0' || value === false ? false : value,
  );
