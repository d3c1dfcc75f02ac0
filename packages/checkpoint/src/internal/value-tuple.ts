import { CorruptRecordError } from "../errors.js";
import type { SerializedValue, Serializer } from "../serializer.js";

/**
 * How format 2 stores a serialized value: its JSON inline, followed by
 * superjson's annotations only when the value has any. A value that is plain
 * JSON (most state: text, numbers, plain objects) is stored as itself,
 * without format 1's `{"json": …}` wrapper. The value is always the tail of
 * the tuple that holds it, so the tuple's length says whether `meta` follows.
 */
export function valueTuple(serialized: SerializedValue): unknown[] {
  return serialized.meta === undefined ? [serialized.json] : [serialized.json, serialized.meta];
}

/** Whether `tuple` ends with a value starting at `at`. */
export function isValueTuple(tuple: readonly unknown[], at: number): boolean {
  return tuple.length === at + 1 || tuple.length === at + 2;
}

/** Revives the value stored from `at` to the end of `tuple`. */
export function reviveValue(
  tuple: readonly unknown[],
  at: number,
  where: string,
  serializer: Serializer,
): unknown {
  if (!isValueTuple(tuple, at)) throw new CorruptRecordError(where, "malformed value");
  const json = tuple[at];
  return serializer.fromJSON(
    tuple.length === at + 1 ? { json } : { json, meta: tuple[at + 1] },
    where,
  );
}
