import { Money } from "./harness.js";

/**
 * One value of every kind a checkpoint must keep exactly. Built fresh on
 * each call, so tests can compare a loaded copy with a new original.
 */
export function sampleValues(): Record<string, unknown> {
  const shared = { id: "shared" };
  const cause = new Error("inner cause");
  const error = new Error("outer", { cause });
  error.name = "FetchFailed";
  return {
    text: "héllo ✓",
    integer: 42,
    negativeZero: -0,
    notANumber: Number.NaN,
    infinity: Number.POSITIVE_INFINITY,
    bool: true,
    nothing: null,
    missing: undefined,
    big: 2n ** 70n,
    date: new Date("2026-11-24T10:00:00.123Z"),
    regexp: /wa?y+point/giu,
    url: new URL("https://example.org/a?b=c"),
    map: new Map<unknown, unknown>([
      ["a", 1],
      [{ objectKey: true }, new Set([1n, "x"])],
    ]),
    set: new Set([new Date(0), "two"]),
    nested: { list: [1, undefined, { deep: [new Date(1)] }] },
    error,
    bytes: new Uint8Array([0, 1, 254, 255]),
    floats: new Float64Array([1.5, -0.25]),
    bigints: new BigInt64Array([-(2n ** 63n), 7n]),
    buffer: Buffer.from("buffer bytes"),
    arrayBuffer: new Uint8Array([9, 8, 7]).buffer,
    money: new Money(1999n, "EUR"),
    sameTwice: [shared, shared],
    nullPrototype: Object.assign(Object.create(null) as object, { plain: "dictionary" }),
  };
}
