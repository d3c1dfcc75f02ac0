import { SuperJSON, type SuperJSONResult } from "superjson";
import { CorruptRecordError } from "./errors.js";
import { assertAnnotationShape, assertSafePayload } from "./internal/payload-guard.js";
import { checkValue, isPlainJson } from "./internal/value-check.js";
import type { JsonValue } from "./checkpoint.js";

/** A class whose instances may be saved; it is revived with its prototype. */
export interface ClassRegistration {
  /** The class; `never[]` arguments accept any constructor signature. */
  readonly type: abstract new (...args: never[]) => unknown;
  /** Stable name stored in the record. Never reuse one for another class. */
  readonly identifier: string;
  /** Save only these properties (default: every own enumerable one). */
  readonly allowProps?: readonly string[];
}

/** A value type saved through its own JSON form (for example, LangChain messages). */
export interface CustomType<Value = unknown, Json extends JsonValue = JsonValue> {
  /** Stable name stored in the record. */
  readonly name: string;
  /** Whether `value` is of this type, to be saved through `serialize`. */
  isApplicable(value: unknown): value is Value;
  /** The value's JSON form, from which `deserialize` rebuilds it. */
  serialize(value: Value): Json;
  /** Rebuilds a value from the JSON form `serialize` produced. */
  deserialize(json: Json): Value;
}

/** A bundle of registrations, such as `@waypoint/langchain`'s messages plug-in. */
export interface SerializerPlugin {
  readonly name: string;
  readonly classes?: readonly ClassRegistration[];
  readonly customTypes?: readonly CustomType[];
}

/**
 * What `createSerializer` registers besides the built-in types: classes, custom types and plug-ins.
 */
export interface SerializerOptions {
  readonly classes?: readonly ClassRegistration[];
  readonly customTypes?: readonly CustomType[];
  readonly plugins?: readonly SerializerPlugin[];
}

/** superjson's `{ json, meta }` form of one value. */
export type SerializedValue = SuperJSONResult;

/**
 * Turns values into text and back, exactly, or fails loudly. `where` and
 * `path` name the value in errors, for example `channel "notes"` and
 * `notes[3].due`.
 */
export interface Serializer {
  /** Throws UnserializableValueError if the value would not come back exactly. */
  check(value: unknown, where: string, path: string): void;
  /**
   * A value in superjson's `{ json, meta }` form, checked first; throws UnserializableValueError.
   */
  toJSON(value: unknown, where: string, path: string): SerializedValue;
  /** Revives a value from untrusted JSON; throws CorruptRecordError on anything unsafe. */
  fromJSON(serialized: unknown, where: string): unknown;
  /** `toJSON`, as JSON text. */
  serialize(value: unknown, where: string, path: string): string;
  /** `fromJSON` of JSON text; throws CorruptRecordError on text that is not JSON. */
  deserialize(text: string, where: string): unknown;
  /**
   * Adds a plug-in's registrations after the serializer was made (a graph's
   * channels bring the plug-ins their values need); a plug-in already added,
   * by name, is not added again.
   */
  use?(plugin: SerializerPlugin): void;
}

/**
 * Types superjson cannot restore on its own. They are registered on every
 * serializer so that these values round-trip instead of failing to load.
 */
const BUILTIN_TYPES: readonly CustomType[] = [
  errorType(),
  {
    name: "waypoint:Buffer",
    isApplicable: (value): value is Buffer => Buffer.isBuffer(value),
    serialize: (value: Buffer) => value.toString("base64"),
    deserialize: (json) => Buffer.from(expectString(json, "Buffer"), "base64"),
  } satisfies CustomType<Buffer, string>,
  {
    name: "waypoint:ArrayBuffer",
    isApplicable: (value): value is ArrayBuffer => value instanceof ArrayBuffer,
    serialize: (value: ArrayBuffer) => Buffer.from(value).toString("base64"),
    deserialize: (json) => {
      const bytes = Buffer.from(expectString(json, "ArrayBuffer"), "base64");
      return bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength);
    },
  } satisfies CustomType<ArrayBuffer, string>,
  {
    name: "waypoint:BigInt64Array",
    isApplicable: (value): value is BigInt64Array => value instanceof BigInt64Array,
    serialize: (value: BigInt64Array) => Array.from(value, String),
    deserialize: (json) => BigInt64Array.from(expectStrings(json, "BigInt64Array"), BigInt),
  } satisfies CustomType<BigInt64Array, string[]>,
  {
    name: "waypoint:BigUint64Array",
    isApplicable: (value): value is BigUint64Array => value instanceof BigUint64Array,
    serialize: (value: BigUint64Array) => Array.from(value, String),
    deserialize: (json) => BigUint64Array.from(expectStrings(json, "BigUint64Array"), BigInt),
  } satisfies CustomType<BigUint64Array, string[]>,
];

/** Built-in error classes are revived as themselves; any other name as an Error with that name. */
const ERROR_CLASSES: Readonly<Record<string, ErrorConstructor>> = {
  Error,
  TypeError,
  RangeError,
  SyntaxError,
  ReferenceError,
  EvalError,
  URIError,
};

/**
 * superjson's own Error handling gives every revived error an own `name`,
 * and `undefined` for each allowed extra property. This keeps name, message,
 * cause, and WaypointError's `code` and `data` only when present. superjson
 * still walks the returned object, so a cause or data of any supported type
 * comes back exactly. The stack is not kept.
 */
function errorType(): CustomType {
  interface ErrorJson {
    name: string;
    message: string;
    cause?: unknown;
    code?: unknown;
    data?: unknown;
  }
  return {
    name: "waypoint:Error",
    isApplicable: (value): value is Error => value instanceof Error,
    serialize: (error: Error) => {
      const extra = error as Error & { code?: unknown; data?: unknown };
      const json: ErrorJson = { name: error.name, message: error.message };
      if ("cause" in error) json.cause = error.cause;
      if (extra.code !== undefined) json.code = extra.code;
      if (extra.data !== undefined) json.data = extra.data;
      return json as unknown as JsonValue;
    },
    deserialize: (raw) => {
      const json = raw as unknown as ErrorJson;
      if (
        json === null ||
        typeof json !== "object" ||
        typeof json.message !== "string" ||
        typeof json.name !== "string"
      ) {
        throw new Error("Error: expected { name, message }");
      }
      const Constructor = Object.hasOwn(ERROR_CLASSES, json.name)
        ? ERROR_CLASSES[json.name]!
        : Error;
      const error =
        "cause" in json
          ? new Constructor(json.message, { cause: json.cause })
          : new Constructor(json.message);
      if (error.name !== json.name) error.name = json.name;
      if (json.code !== undefined) Object.assign(error, { code: json.code });
      if (json.data !== undefined) Object.assign(error, { data: json.data });
      return error;
    },
  };
}

/**
 * A superjson-based serializer with the given registrations, plus built-in
 * types superjson cannot restore on its own (errors, Buffer, ArrayBuffer,
 * BigInt64Array, BigUint64Array).
 */
export function createSerializer(options: SerializerOptions = {}): Serializer {
  return new SuperjsonSerializer(options);
}

class SuperjsonSerializer implements Serializer {
  private readonly superjson = new SuperJSON({ dedupe: false });
  private readonly classes = new Set<unknown>();
  private readonly customTypes: CustomType[] = [];
  private readonly plugins = new Set<string>();

  constructor(options: SerializerOptions) {
    const plugins = options.plugins ?? [];
    for (const plugin of plugins) this.plugins.add(plugin.name);
    const customTypes = [
      ...BUILTIN_TYPES,
      ...(options.customTypes ?? []),
      ...plugins.flatMap((p) => p.customTypes ?? []),
    ];
    for (const custom of customTypes) this.addCustomType(custom);
    for (const registration of [
      ...(options.classes ?? []),
      ...plugins.flatMap((p) => p.classes ?? []),
    ]) {
      this.addClass(registration);
    }
  }

  private readonly known = {
    isRegisteredClass: (constructor: unknown) => this.classes.has(constructor),
    isCustom: (candidate: unknown) =>
      this.customTypes.some((custom) => custom.isApplicable(candidate)),
  };

  check(value: unknown, where: string, path: string): void {
    checkValue(value, where, path, this.known);
  }

  toJSON(value: unknown, where: string, path: string): SerializedValue {
    // Plain JSON needs no annotations: the same { json } superjson would give, without its walk
    // or the check's (a state's snapshot is mostly plain lists and objects).
    if (isPlainJson(value)) return { json: value as SerializedValue["json"] };
    this.check(value, where, path);
    return this.superjson.serialize(value);
  }

  fromJSON(serialized: unknown, where: string): unknown {
    if (serialized === null || typeof serialized !== "object" || !("json" in serialized)) {
      throw new CorruptRecordError(where, "expected a serialized value ({ json, meta })");
    }
    assertSafePayload(serialized, where);
    assertAnnotationShape((serialized as { meta?: unknown }).meta, where);
    try {
      return this.superjson.deserialize(serialized as SuperJSONResult);
    } catch (error) {
      throw new CorruptRecordError(where, `cannot revive the value: ${messageOf(error)}`, error);
    }
  }

  serialize(value: unknown, where: string, path: string): string {
    return JSON.stringify(this.toJSON(value, where, path));
  }

  deserialize(text: string, where: string): unknown {
    return this.fromJSON(parseJson(text, where), where);
  }

  use(plugin: SerializerPlugin): void {
    if (this.plugins.has(plugin.name)) return;
    this.plugins.add(plugin.name);
    for (const custom of plugin.customTypes ?? []) this.addCustomType(custom);
    for (const registration of plugin.classes ?? []) this.addClass(registration);
  }

  private addClass(registration: ClassRegistration): void {
    this.classes.add(registration.type);
    this.superjson.registerClass(registration.type as unknown as new () => unknown, {
      identifier: registration.identifier,
      ...(registration.allowProps ? { allowProps: [...registration.allowProps] } : {}),
    });
  }

  private addCustomType(custom: CustomType): void {
    this.customTypes.push(custom);
    this.superjson.registerCustom<unknown, string>(
      {
        isApplicable: (value): value is unknown => custom.isApplicable(value),
        // superjson's JSONValue type is mutable; the JSON itself is the same.
        serialize: (value) => custom.serialize(value) as unknown as string,
        deserialize: (json) => custom.deserialize(json),
      },
      custom.name,
    );
  }
}

/** JSON.parse, with a typed error. JSON.parse itself never touches a prototype. */
export function parseJson(text: string, where: string): unknown {
  if (typeof text !== "string")
    throw new CorruptRecordError(where, `expected text, got ${typeof text}`);
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    throw new CorruptRecordError(where, `not valid JSON: ${messageOf(error)}`, error);
  }
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function expectString(json: JsonValue, type: string): string {
  if (typeof json !== "string") throw new Error(`${type}: expected a base64 string`);
  return json;
}

function expectStrings(json: JsonValue, type: string): string[] {
  if (!Array.isArray(json) || !json.every((item) => typeof item === "string")) {
    throw new Error(`${type}: expected an array of strings`);
  }
  return json;
}
