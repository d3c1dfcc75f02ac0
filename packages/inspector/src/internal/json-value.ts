/**
 * Turns stored values into plain JSON for the page: dates as ISO strings,
 * maps and sets as objects and lists, class instances as their fields with
 * the class name under "$type". What JSON cannot hold (undefined, bigint,
 * functions) is named, not dropped.
 */
export function toJson(value: unknown, seen: Set<object> = new Set()): unknown {
  if (value === null || typeof value === "string" || typeof value === "boolean") return value;
  if (typeof value === "number") return Number.isFinite(value) ? value : String(value);
  if (value === undefined) return { $undefined: true };
  if (typeof value === "bigint") return { $bigint: value.toString() };
  if (typeof value === "function" || typeof value === "symbol") return { $type: typeof value };
  const object = value;
  if (seen.has(object)) return { $circular: true };
  seen.add(object);
  try {
    if (value instanceof Date) return value.toISOString();
    if (Array.isArray(value)) return value.map((item) => toJson(item, seen));
    if (value instanceof Map) {
      return { $map: [...value].map(([k, v]) => [toJson(k, seen), toJson(v, seen)]) };
    }
    if (value instanceof Set) return { $set: [...value].map((item) => toJson(item, seen)) };
    if (value instanceof Uint8Array) return { $bytes: value.byteLength };
    if (value instanceof Error) return { $error: value.name, message: value.message };
    const out: Record<string, unknown> = {};
    const proto = Object.getPrototypeOf(object) as { constructor?: { name?: string } } | null;
    const name = proto?.constructor?.name;
    if (proto !== null && proto !== Object.prototype && name) out.$type = name;
    for (const [key, item] of Object.entries(object)) out[key] = toJson(item, seen);
    return out;
  } finally {
    seen.delete(object);
  }
}
