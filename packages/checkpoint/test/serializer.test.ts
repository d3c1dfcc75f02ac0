import { describe, expect, it } from "vitest";
import {
  CorruptRecordError,
  UnserializableValueError,
  createSerializer,
} from "@waypoint/checkpoint";
import { Money, sampleValues, suiteSerializer } from "@waypoint/checkpoint/testing";

const serializer = suiteSerializer();
const roundTrip = <T>(value: T): T =>
  serializer.deserialize(serializer.serialize(value, "test", "value"), "test") as T;

describe("serializer: faithful round trips", () => {
  const values = sampleValues();
  for (const [name, value] of Object.entries(values)) {
    it(`keeps ${name}`, () => {
      const back = roundTrip(value);
      expect(back).toEqual(value);
      if (value !== null && typeof value === "object" && name !== "nullPrototype") {
        expect(Object.getPrototypeOf(back)).toBe(Object.getPrototypeOf(value));
      }
    });
  }

  it("keeps -0, NaN and undefined as themselves", () => {
    const back = roundTrip({ z: -0, n: Number.NaN, u: undefined, list: [undefined] });
    expect(Object.is(back.z, -0)).toBe(true);
    expect(back.n).toBeNaN();
    expect(Object.hasOwn(back, "u")).toBe(true);
    expect(back.list).toHaveLength(1);
  });

  it("keeps repeated references and cycles as references", () => {
    const shared = { n: 1 };
    const cyclic: Record<string, unknown> = { shared, again: shared };
    cyclic.self = cyclic;
    const back = roundTrip(cyclic);
    expect(back.again).toBe(back.shared);
    expect(back.self).toBe(back);
  });

  it("keeps a value shared by two keys of plain data as one value", () => {
    const shared = ["a", "b"];
    const back = roundTrip({ first: shared, second: { again: shared } });
    expect(back.second.again).toBe(back.first);
  });

  it("stores plain JSON as itself, with no annotations", () => {
    const plain = { log: ["a", "b"], n: 1, ok: true, none: null, nested: [{ deep: "x" }] };
    expect(JSON.parse(serializer.serialize(plain, "test", "value"))).toEqual({ json: plain });
    expect(roundTrip(plain)).toEqual(plain);
  });

  it("keeps an Error's name, message, cause, code and data, and revives built-in error classes", () => {
    const error = Object.assign(new TypeError("bad input", { cause: new RangeError("too big") }), {
      code: "E_INPUT",
      data: { at: new Date(3) },
    });
    const back = roundTrip(error);
    expect(back).toBeInstanceOf(TypeError);
    expect(back.message).toBe("bad input");
    expect(back.cause).toBeInstanceOf(RangeError);
    expect((back.cause as Error).message).toBe("too big");
    expect(back.code).toBe("E_INPUT");
    expect(back.data.at).toEqual(new Date(3));
    const custom = new Error("x");
    custom.name = "PaymentDeclined";
    expect(roundTrip(custom).name).toBe("PaymentDeclined");
    expect(Object.hasOwn(roundTrip(new Error("plain")), "cause")).toBe(false);
  });

  it("revives registered classes with their prototype and methods", () => {
    const back = roundTrip({ price: new Money(5n, "USD") });
    expect(back.price).toBeInstanceOf(Money);
    expect(back.price.format()).toBe("5 USD");
  });

  it("takes plug-ins with custom types", () => {
    class Temperature {
      constructor(readonly celsius: number) {}
    }
    const withPlugin = createSerializer({
      plugins: [
        {
          name: "weather",
          customTypes: [
            {
              name: "weather:Temperature",
              isApplicable: (v): v is Temperature => v instanceof Temperature,
              serialize: (v: Temperature) => v.celsius,
              deserialize: (json) => new Temperature(json as number),
            },
          ],
        },
      ],
    });
    const back = withPlugin.deserialize(
      withPlugin.serialize([new Temperature(21)], "t", "v"),
      "t",
    ) as Temperature[];
    expect(back[0]).toBeInstanceOf(Temperature);
    expect(back[0]!.celsius).toBe(21);
  });
});

describe("serializer: loud failures name the channel and path", () => {
  class Socket {}
  const cases: [string, unknown, string, RegExp][] = [
    ["a function", { handler: function onData() {} }, "messages.handler", /function onData/],
    ["an arrow function in a list", [1, () => 2], "messages[1]", /anonymous function/],
    ["an unregistered class", { conn: new Socket() }, "messages.conn", /class Socket.*register/],
    ["a symbol", { s: Symbol("s") }, "messages.s", /symbol/],
    ["a symbol key", { [Symbol("k")]: 1 }, "messages", /symbol keys/],
    ["a Promise", { later: Promise.resolve() }, "messages.later", /await/],
    // eslint-disable-next-line no-sparse-arrays -- a hole is the point of the case
    ["a sparse array", [1, , 2], "messages[1]", /sparse/],
    ["a DataView", { view: new DataView(new ArrayBuffer(2)) }, "messages.view", /DataView/],
    ["a WeakMap in a Map value", new Map([["k", new WeakMap()]]), 'messages.get("k")', /WeakMap/],
    ["a function in a Set", new Set([() => 1]), "messages<Set item #0>", /function/],
    ["a key named constructor", { constructor: "x" }, "messages.constructor", /reserved/],
    [
      "a key named prototype",
      { nested: { prototype: 1 } },
      "messages.nested.prototype",
      /reserved/,
    ],
    ["an own __proto__ key", JSON.parse('{"__proto__": 1}'), "messages.__proto__", /reserved/],
    ["an Array subclass", new (class Tags extends Array {})(), "messages", /Array subclass/],
  ];
  for (const [label, value, path, message] of cases) {
    it(`refuses ${label}`, () => {
      const error = (() => {
        try {
          serializer.serialize(value, 'channel "messages"', "messages");
        } catch (thrown) {
          return thrown;
        }
        return undefined;
      })();
      expect(error).toBeInstanceOf(UnserializableValueError);
      const typed = error as UnserializableValueError;
      expect(typed.code).toBe("UNSERIALIZABLE_VALUE");
      expect(typed.data.path).toBe(path);
      expect(typed.message).toContain('channel "messages"');
      expect(typed.message).toMatch(message);
    });
  }

  it("refuses an unregistered class nested inside a registered one", () => {
    const money = new Money(1n, "EUR");
    Object.assign(money, { audit: new (class Ledger {})() });
    expect(() => serializer.serialize(money, 'channel "price"', "price")).toThrow(
      /price\.audit.*class Ledger/,
    );
  });

  it("refuses nesting deeper than it can load", () => {
    let deep: unknown[] = [];
    const root = deep;
    for (let i = 0; i < 1500; i += 1) deep = deep[0] = [];
    expect(() => serializer.serialize(root, "c", "c")).toThrow(UnserializableValueError);
  });
});

describe("serializer: hostile payloads are refused before anything is revived", () => {
  const hostile: [string, string][] = [
    ["a __proto__ key", '{"json":{"__proto__":{"polluted":true}}}'],
    ["a nested __proto__ key", '{"json":{"a":[{"b":{"__proto__":{"polluted":true}}}]}}'],
    [
      "a __proto__ key in a registered class",
      '{"json":{"amount":"1","__proto__":{"polluted":true}},"meta":{"values":[["class","waypoint-test:Money"]]}}',
    ],
    ["a constructor key", '{"json":{"constructor":{"prototype":{"polluted":true}}}}'],
    [
      "an annotation path through __proto__",
      '{"json":{},"meta":{"values":{"__proto__.polluted":["undefined"]}}}',
    ],
    [
      "an annotation path through constructor.prototype",
      '{"json":{"a":1},"meta":{"values":{"constructor.prototype.polluted":["Date"]}}}',
    ],
    [
      "a referential path through prototype",
      '{"json":{"a":{}},"meta":{"referentialEqualities":{"a":["prototype.x"]}}}',
    ],
    ["an unknown class", '{"json":{},"meta":{"values":[["class","Function"]]}}'],
    ["an unknown custom type", '{"json":"x","meta":{"values":[["custom","Function"]]}}'],
    ["an unknown typed array", '{"json":[1],"meta":{"values":[["typed-array","Buffer"]]}}'],
    ["a malformed annotation", '{"json":1,"meta":{"values":["map"]}}'],
    ["text that is not JSON", "{nope"],
    ["JSON that is not a serialized value", "[1,2,3]"],
    ["nesting deeper than values may be saved", `{"json":${"[".repeat(5000)}${"]".repeat(5000)}}`],
  ];
  for (const [label, text] of hostile) {
    it(`refuses ${label}`, () => {
      expect(() => serializer.deserialize(text, "test payload")).toThrow(CorruptRecordError);
      expect(({} as Record<string, unknown>).polluted).toBeUndefined();
      expect(Object.prototype).not.toHaveProperty("polluted");
      expect(Money.prototype).not.toHaveProperty("polluted");
    });
  }

  it("never revives a class the loading serializer has not registered", () => {
    const saved = serializer.serialize(new Money(1n, "EUR"), "c", "c");
    expect(() => createSerializer().deserialize(saved, "other")).toThrow(/unknown class/);
  });
});
