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

/**
 * superjson walks `meta.values` as a tree: a node is `[type]` or
 * `[type, { key: node }]`, or `{ key: node }`, and a type is a name or a pair
 * such as `["class", "Money"]`. Given a bare string where a node belongs (a
 * hand-made `["class", "Nope"]` as a node reads "Nope" as children), it
 * recurses through the string's characters until the stack overflows, before
 * it ever sees the unknown class. Checked here first, iteratively. Referential
 * equalities must be lists of path strings.
 */
export function assertAnnotationShape(meta: unknown, where: string): void {
  if (meta === undefined || meta === null) return;
  if (typeof meta !== "object" || Array.isArray(meta)) malformed(where, "meta");
  const { values, referentialEqualities } = meta as Record<string, unknown>;
  const stack: unknown[] = [values];
  while (stack.length > 0) {
    const node = stack.pop();
    if (node === undefined || node === null) continue;
    if (Array.isArray(node)) {
      const [type, children] = node as unknown[];
      if (node.length < 1 || node.length > 2 || !isTypeAnnotation(type))
        malformed(where, "meta.values");
      if (children === undefined || children === null) continue;
      if (!isRecord(children)) malformed(where, "meta.values");
      stack.push(...Object.values(children));
    } else if (isRecord(node)) {
      stack.push(...Object.values(node));
    } else {
      malformed(where, "meta.values");
    }
  }
  if (referentialEqualities === undefined || referentialEqualities === null) return;
  if (Array.isArray(referentialEqualities)) {
    const [root, other] = referentialEqualities as unknown[];
    if (referentialEqualities.length > 2 || !isPathList(root)) {
      malformed(where, "meta.referentialEqualities");
    }
    if (other !== undefined && (!isRecord(other) || !Object.values(other).every(isPathList))) {
      malformed(where, "meta.referentialEqualities");
    }
  } else if (
    !isRecord(referentialEqualities) ||
    !Object.values(referentialEqualities).every(isPathList)
  ) {
    malformed(where, "meta.referentialEqualities");
  }
}

function isTypeAnnotation(type: unknown): boolean {
  if (typeof type === "string") return true;
  return (
    Array.isArray(type) &&
    type.length === 2 &&
    typeof type[0] === "string" &&
    typeof type[1] === "string"
  );
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === "object" && !Array.isArray(value);
}

function isPathList(value: unknown): boolean {
  return Array.isArray(value) && value.every((path) => typeof path === "string");
}

function malformed(where: string, part: string): never {
  throw new CorruptRecordError(where, `malformed type annotations (${part})`);
}
