import { UnserializableValueError } from "../errors.js";

/**
 * Save-side check. superjson drops or mangles some values silently
 * (functions, unregistered class instances, sparse arrays, symbol keys); this
 * walk finds them first and fails with the channel and the path.
 */

export interface KnownTypes {
  isRegisteredClass(constructor: unknown): boolean;
  isCustom(value: unknown): boolean;
}

/** Deeper values are refused on save and on load alike. */
export const MAX_DEPTH = 1000;

/** Keys superjson refuses, and that no loader should ever follow. */
const FORBIDDEN_KEYS: ReadonlySet<string> = new Set(["__proto__", "constructor", "prototype"]);

/**
 * A key no payload may hold. Dotted keys are checked segment by segment,
 * because superjson's annotations are dotted paths; save and load apply the
 * same rule, so whatever was saved can be loaded.
 */
export function isForbiddenKey(key: string): boolean {
  if (FORBIDDEN_KEYS.has(key)) return true;
  return key.includes(".") && key.split(".").some((segment) => FORBIDDEN_KEYS.has(segment));
}

/** Typed arrays superjson restores exactly (BigInt ones go through a custom type). */
const TYPED_ARRAYS: ReadonlySet<unknown> = new Set([
  Int8Array,
  Uint8Array,
  Uint8ClampedArray,
  Int16Array,
  Uint16Array,
  Int32Array,
  Uint32Array,
  Float32Array,
  Float64Array,
]);

/**
 * Whether `value` is plain JSON that superjson gives back as itself, with no
 * annotations: null, strings, booleans, finite numbers but -0, and dense
 * arrays and plain objects of those, each reached once (superjson keeps a
 * repeated reference as one), with no reserved key, within MAX_DEPTH. Never
 * throws: anything else is for the full check, which names what is wrong.
 */
export function isPlainJson(value: unknown): boolean {
  return isPlainJsonAt(value, undefined, 0);
}

/**
 * `seen` holds the objects met so far; it is made when a first object is met
 * inside another, so a flat list or record (the usual value, and metadata)
 * costs no set.
 */
function isPlainJsonAt(value: unknown, seen: Set<object> | undefined, depth: number): boolean {
  if (value === null || typeof value === "string" || typeof value === "boolean") return true;
  if (typeof value === "number") return Number.isFinite(value) && !Object.is(value, -0);
  if (typeof value !== "object" || depth > MAX_DEPTH) return false;
  if (seen !== undefined) {
    if (seen.has(value)) return false;
    seen.add(value);
  }
  if (Array.isArray(value)) {
    if (Object.getPrototypeOf(value) !== Array.prototype) return false;
    for (let index = 0; index < value.length; index += 1) {
      if (!(index in value)) return false;
      const item: unknown = value[index];
      if (typeof item === "object" && item !== null) seen ??= new Set([value]);
      if (!isPlainJsonAt(item, seen, depth + 1)) return false;
    }
    return true;
  }
  const proto: unknown = Object.getPrototypeOf(value);
  if (proto !== Object.prototype && proto !== null) return false;
  if (Object.getOwnPropertySymbols(value).length > 0) return false;
  for (const key of Object.keys(value)) {
    if (isForbiddenKey(key)) return false;
    const item = (value as Record<string, unknown>)[key];
    if (typeof item === "object" && item !== null) seen ??= new Set([value]);
    if (!isPlainJsonAt(item, seen, depth + 1)) return false;
  }
  return true;
}

export function checkValue(value: unknown, where: string, path: string, known: KnownTypes): void {
  // Strings, numbers and the like need no walk (the common case on a hot path).
  if (
    value === null ||
    (typeof value !== "object" && typeof value !== "function" && typeof value !== "symbol")
  )
    return;
  new ValueChecker(where, known).check(value, path, 0);
}

class ValueChecker {
  private readonly visited = new WeakSet<object>();

  constructor(
    private readonly where: string,
    private readonly known: KnownTypes,
  ) {}

  check(value: unknown, path: string, depth: number): void {
    switch (typeof value) {
      case "undefined":
      case "boolean":
      case "number":
      case "string":
      case "bigint":
        return;
      case "symbol":
        return this.fail(path, `a symbol (${String(value)}) cannot be saved`);
      case "function":
        return this.fail(path, `a function (${describeFunction(value)}) cannot be saved`);
    }
    if (value === null) return;
    const object = value as object;
    if (this.visited.has(object)) return; // repeated references and cycles are kept by superjson
    if (depth > MAX_DEPTH) return this.fail(path, `nesting deeper than ${MAX_DEPTH} levels`);
    this.visited.add(object);
    this.checkObject(object, path, depth + 1);
  }

  private checkObject(object: object, path: string, depth: number): void {
    if (this.known.isCustom(object)) return;
    if (Array.isArray(object)) return this.checkArray(object, path, depth);
    if (object instanceof Date || object instanceof RegExp || object instanceof URL) return;
    if (object instanceof Map) {
      let row = 0;
      for (const [key, entry] of object) {
        this.check(key, `${path}<Map key #${row}>`, depth);
        this.check(entry, `${path}.get(${describeKey(key, row)})`, depth);
        row += 1;
      }
      return;
    }
    if (object instanceof Set) {
      let row = 0;
      for (const item of object) this.check(item, `${path}<Set item #${row++}>`, depth);
      return;
    }
    if (object instanceof Error) {
      this.check(object.cause, `${path}.cause`, depth);
      this.check((object as { data?: unknown }).data, `${path}.data`, depth);
      return;
    }
    if (ArrayBuffer.isView(object)) {
      if (TYPED_ARRAYS.has(object.constructor)) return;
      return this.fail(
        path,
        `a ${object.constructor.name} cannot be saved; copy it into a Uint8Array`,
      );
    }
    if (object instanceof Promise) {
      return this.fail(path, "a Promise cannot be saved (is an `await` missing?)");
    }
    const proto: unknown = Object.getPrototypeOf(object);
    const registered = proto !== null && this.known.isRegisteredClass(object.constructor);
    if (proto !== Object.prototype && proto !== null && !registered) {
      const name = (object.constructor as { name?: string } | undefined)?.name || "anonymous";
      return this.fail(
        path,
        `an instance of class ${name} cannot be saved; register the class with ` +
          `createSerializer({ classes: [...] }) or store plain data instead`,
      );
    }
    this.checkProperties(object, path, depth);
  }

  private checkArray(array: readonly unknown[], path: string, depth: number): void {
    if (Object.getPrototypeOf(array) !== Array.prototype) {
      return this.fail(
        path,
        `an instance of ${array.constructor.name} (an Array subclass) cannot be saved`,
      );
    }
    for (let index = 0; index < array.length; index += 1) {
      if (!(index in array)) {
        return this.fail(`${path}[${index}]`, "a sparse array (hole) would come back as null");
      }
      this.check(array[index], `${path}[${index}]`, depth);
    }
  }

  private checkProperties(object: object, path: string, depth: number): void {
    const symbols = Object.getOwnPropertySymbols(object);
    if (symbols.length > 0) {
      return this.fail(path, `symbol keys (${String(symbols[0])}) are not saved`);
    }
    for (const key of Object.keys(object)) {
      if (isForbiddenKey(key)) {
        return this.fail(
          `${path}${formatKey(key)}`,
          `the key "${key}" is reserved (prototype pollution risk)`,
        );
      }
      this.check((object as Record<string, unknown>)[key], `${path}${formatKey(key)}`, depth);
    }
  }

  private fail(path: string, problem: string): never {
    throw new UnserializableValueError(this.where, path, problem);
  }
}

export function formatKey(key: string): string {
  return /^[A-Za-z_$][\w$]*$/.test(key) ? `.${key}` : `[${JSON.stringify(key)}]`;
}

function describeKey(key: unknown, row: number): string {
  return typeof key === "string" || typeof key === "number" ? JSON.stringify(key) : `#${row}`;
}

function describeFunction(fn: unknown): string {
  const name = (fn as { name?: string }).name;
  return name ? `function ${name}` : "anonymous function";
}
