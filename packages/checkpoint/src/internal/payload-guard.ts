import { CorruptRecordError } from "../errors.js";
import { MAX_DEPTH, isForbiddenKey } from "./value-check.js";

/**
 * Load-side check, run on parsed JSON before superjson revives anything.
 * JSON.parse makes `__proto__` an own key; superjson's class revival then
 * copies it with Object.assign, which replaces the prototype. So no stored
 * payload may contain `__proto__`, `constructor` or `prototype` as a key, at
 * any depth, in its data or in its type annotations. The walk is iterative so
 * that a hostile, deeply nested payload cannot overflow the stack.
 */
export function assertSafePayload(parsed: unknown, where: string): void {
  const stack: [unknown, number][] = [[parsed, 0]];
  while (stack.length > 0) {
    const [node, depth] = stack.pop()!;
    if (node === null || typeof node !== "object") continue;
    // Whatever could not have been saved is not loaded either.
    if (depth > MAX_DEPTH)
      throw new CorruptRecordError(where, `nested deeper than ${MAX_DEPTH} levels`);
    if (Array.isArray(node)) {
      for (const item of node) stack.push([item, depth + 1]);
      continue;
    }
    for (const key of Object.keys(node)) {
      if (isForbiddenKey(key)) {
        throw new CorruptRecordError(where, `the key "${key}" is not allowed in a stored payload`);
      }
      stack.push([(node as Record<string, unknown>)[key], depth + 1]);
    }
  }
}
