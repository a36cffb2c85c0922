// Issue 13: checks of parsed JSON without zod, for the documents every unlock reads (the
// vault's contents, the store's index and journal). zod costs a first unlock ~0.25 s of CPU
// (its ~75 modules and the schemas' construction); these checks cost next to nothing.
//
// Each check says only "this value has that shape". It must never accept what the zod schema
// beside it refuses: when a check says no, the caller asks the zod schema, which decides and
// words the error (docs/decisions/executables.md, "Documents read without zod"). The checks
// follow zod 4's rules: an object is a non-null, non-array object whose own keys are all
// known (strictObject), an optional key may be absent or undefined, z.number().int() is a
// safe integer.

/** True when `value` has the shape; never throws. */
export type Check = (value: unknown) => boolean;

export const isString: Check = (value) => typeof value === 'string';
export const isBoolean: Check = (value) => typeof value === 'boolean';
/** z.unknown(): anything, when optional. */
export const isAnything: Check = () => true;

/** z.string().min(n): n UTF-16 code units or more. */
export function stringOfAtLeast(minimum: number): Check {
  return (value) => typeof value === 'string' && value.length >= minimum;
}

/** z.string().regex(pattern): the pattern must not carry the g or y flag (lastIndex). */
export function stringMatching(pattern: RegExp): Check {
  if (pattern.global || pattern.sticky) throw new TypeError('stringMatching: a stateless pattern only');
  return (value) => typeof value === 'string' && pattern.test(value);
}

/** z.enum(values) and z.literal(value). */
export function oneOf(...values: readonly (string | boolean)[]): Check {
  return (value) => values.includes(value as string | boolean);
}

/** z.number().int().nonnegative() (minimum 0) and .positive() (minimum 1). */
export function safeIntegerFrom(minimum: number): Check {
  return (value) => typeof value === 'number' && Number.isSafeInteger(value) && value >= minimum;
}

/** z.array(item).min(minimum).max(maximum). */
export function arrayOf(item: Check, minimum = 0, maximum = Infinity): Check {
  return (value) => {
    if (!Array.isArray(value) || value.length < minimum || value.length > maximum) return false;
    for (let i = 0; i < value.length; i += 1) if (!item(value[i])) return false;
    return true;
  };
}

/** z.tuple([...items]): an array of exactly these items, in order. */
export function tupleOf(...items: readonly Check[]): Check {
  return (value) => Array.isArray(value) && value.length === items.length && items.every((item, i) => item(value[i]));
}

/** z.strictObject({...required, ...optional (each .optional())}). */
export function strictObject(required: Readonly<Record<string, Check>>, optional: Readonly<Record<string, Check>> = {}): Check {
  const requiredEntries = Object.entries(required);
  const optionalEntries = Object.entries(optional);
  const known = new Set([...Object.keys(required), ...Object.keys(optional)]);
  return (value) => {
    if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
    const record = value as Record<string, unknown>;
    for (const key of Object.keys(record)) if (!known.has(key)) return false;
    for (const [key, check] of requiredEntries) if (!Object.hasOwn(record, key) || !check(record[key])) return false;
    for (const [key, check] of optionalEntries) {
      if (!Object.hasOwn(record, key)) continue;
      const field = record[key];
      if (field !== undefined && !check(field)) return false;
    }
    return true;
  };
}

/**
 * z.string().datetime() of zod 4.3 (no offset, no local time, any precision): its regular
 * expression, as src/../node_modules/zod/v4/core/regexes.js builds it (`datetime({})`).
 */
const ISO_DATE_TIME = new RegExp(
  '^(?:(?:\\d\\d[2468][048]|\\d\\d[13579][26]|\\d\\d0[48]|[02468][048]00|[13579][26]00)-02-29|\\d{4}-(?:(?:0[13578]|1[02])-(?:0[1-9]|[12]\\d|3[01])|(?:0[469]|11)-(?:0[1-9]|[12]\\d|30)|(?:02)-(?:0[1-9]|1\\d|2[0-8])))' +
    'T(?:(?:[01]\\d|2[0-3]):[0-5]\\d(?::[0-5]\\d(?:\\.\\d+)?)?(?:Z))$',
);
export const isIsoDateTime: Check = stringMatching(ISO_DATE_TIME);
