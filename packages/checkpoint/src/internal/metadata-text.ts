import { InvalidArgumentError } from "../errors.js";
import { assertStorableText, MAX_ID_LENGTH } from "./arguments.js";
import { formatKey, isPlainJson } from "./value-check.js";

/**
 * JSON.stringify writes a NUL as `\u0000` and a lone surrogate as `\udXXX`,
 * so one test over the text tells whether a walk is needed. A false match
 * (an escaped backslash before such text) only costs the walk.
 */
const MAY_HOLD_UNSTORABLE = /\\u0000|\\ud[89a-f]/i;

/**
 * Metadata that every backend can store and give back exactly: no key or
 * string holding a NUL or a lone surrogate (PostgreSQL's jsonb holds neither,
 * Redis and PostgreSQL turn a lone surrogate into U+FFFD), and no key longer
 * than MAX_ID_LENGTH. `value` is plain JSON already (checked before), `text`
 * its JSON text. Throws InvalidArgumentError naming the path.
 */
export function assertStorableMetadata(value: unknown, text: string, argument: string): void {
  if (MAY_HOLD_UNSTORABLE.test(text)) walk(value, argument);
  else if (text.length > MAX_ID_LENGTH) checkKeyLengths(value, argument);
}

function walk(value: unknown, path: string): void {
  if (typeof value === "string") return assertStorableText(value, path);
  if (value === null || typeof value !== "object") return;
  if (Array.isArray(value)) {
    value.forEach((item, index) => walk(item, `${path}[${index}]`));
    return;
  }
  for (const [key, item] of Object.entries(value as Record<string, unknown>)) {
    checkKey(key, path);
    walk(item, `${path}${formatKey(key)}`);
  }
}

function checkKeyLengths(value: unknown, path: string): void {
  if (value === null || typeof value !== "object") return;
  if (Array.isArray(value)) {
    value.forEach((item, index) => checkKeyLengths(item, `${path}[${index}]`));
    return;
  }
  for (const [key, item] of Object.entries(value as Record<string, unknown>)) {
    checkKey(key, path);
    checkKeyLengths(item, `${path}${formatKey(key)}`);
  }
}

function checkKey(key: string, path: string): void {
  const argument = `${path} key ${JSON.stringify(key.length > 40 ? `${key.slice(0, 40)}…` : key)}`;
  if (key.length > MAX_ID_LENGTH) {
    throw new InvalidArgumentError(argument, `longer than ${MAX_ID_LENGTH} characters`);
  }
  assertStorableText(key, argument);
}

/**
 * A listing's metadata filter: a plain object whose values are plain JSON
 * (so `{ k: undefined }` is refused rather than matching on some backends
 * and not on others), under the same text rule as stored metadata, which
 * no NUL or lone surrogate could ever match.
 */
export function checkMetadataFilter(filter: unknown, argument = "filter"): void {
  if (filter === undefined) return;
  if (filter === null || typeof filter !== "object" || Array.isArray(filter)) {
    throw new InvalidArgumentError(argument, "expected a plain object of metadata values");
  }
  for (const [key, value] of Object.entries(filter)) {
    if (!isPlainJson(value)) {
      throw new InvalidArgumentError(
        `${argument}${formatKey(key)}`,
        "expected a JSON value (null, boolean, finite number, string, array or plain object)",
      );
    }
  }
  assertStorableMetadata(filter, JSON.stringify(filter), argument);
}
