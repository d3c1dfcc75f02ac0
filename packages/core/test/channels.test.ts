import { describe, expect, it } from "vitest";
import {
  EmptyChannelError,
  MultipleWritesError,
  barrier,
  ephemeral,
  lastValue,
  reducer,
  topic,
  trigger,
  untracked,
  validateWith,
  type Channel,
  type ChannelSpec,
  type StandardSchemaV1,
} from "../src/channels/index.js";

// A hand-written Standard Schema, so the tests need no validation library.
const positiveNumber: StandardSchemaV1<unknown, number> = {
  "~standard": {
    version: 1,
    vendor: "test",
    validate: (value) =>
      typeof value === "number" && value > 0
        ? { value }
        : { issues: [{ message: "must be a positive number", path: ["count", { key: 0 }] }] },
  },
};

// Its output differs from its input, to show the channel gets the output.
const trimmedString: StandardSchemaV1<unknown, string> = {
  "~standard": {
    version: 1,
    vendor: "test",
    validate: (value) =>
      typeof value === "string"
        ? { value: value.trim() }
        : { issues: [{ message: "not a string" }] },
  },
};

const asyncSchema: StandardSchemaV1<unknown, number> = {
  "~standard": { version: 1, vendor: "async-test", validate: async () => ({ value: 1 }) },
};

function deepFreeze<T>(value: T): T {
  if (typeof value === "object" && value !== null) {
    for (const child of Object.values(value)) deepFreeze(child);
    Object.freeze(value);
  }
  return value;
}

describe("lastValue", () => {
  it("is empty until written, then holds the one value written", () => {
    const channel = lastValue<string>().create();
    expect(channel.isAvailable()).toBe(false);
    expect(() => channel.get()).toThrow(EmptyChannelError);
    expect(channel.checkpoint()).toBeUndefined();

    expect(channel.update([])).toBe(false);
    expect(channel.update(["a"])).toBe(true);
    expect(channel.get()).toBe("a");
    expect(channel.update([])).toBe(false);
    expect(channel.get()).toBe("a");
    expect(channel.update(["b"])).toBe(true);
    expect(channel.get()).toBe("b");
    expect(channel.checkpoint()).toBe("b");
  });

  it("rejects two writes in one superstep and keeps the old value", () => {
    const channel = lastValue<string>().create();
    channel.update(["a"]);
    let caught: unknown;
    try {
      channel.update(["b", "c"]);
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(MultipleWritesError);
    expect((caught as MultipleWritesError).count).toBe(2);
    expect(channel.get()).toBe("a");
  });

  it("starts from a fresh default, and restoring an empty snapshot gives the default again", () => {
    const spec = lastValue<string[]>({ default: () => [] });
    const first = spec.create();
    const second = spec.create();
    expect(first.isAvailable()).toBe(true);
    expect(first.get()).toEqual([]);
    expect(first.get()).not.toBe(second.get());

    first.update([["x"]]);
    first.restore(undefined);
    expect(first.get()).toEqual([]);
  });

  it("has no validate without a schema", () => {
    expect(lastValue().validate).toBeUndefined();
  });
});

describe("reducer", () => {
  it("starts at initial() and folds writes in order", () => {
    const channel = reducer(
      (text: string, part: string) => text + part,
      () => "",
    ).create();
    expect(channel.isAvailable()).toBe(true);
    expect(channel.get()).toBe("");
    expect(channel.update(["a", "b"])).toBe(true);
    expect(channel.update(["c"])).toBe(true);
    expect(channel.get()).toBe("abc");
    expect(channel.update([])).toBe(false);
    expect(channel.get()).toBe("abc");
  });

  it("never mutates earlier values", () => {
    const channel = reducer(
      (list: readonly number[], item: number) => deepFreeze([...list, item]),
      () => deepFreeze([] as number[]),
    ).create();
    const initial = channel.get();
    channel.update([1]);
    const afterOne = channel.get();
    // Frozen values would throw on mutation (ESM is strict), and the old references must not change.
    channel.update([2, 3]);
    expect(initial).toEqual([]);
    expect(afterOne).toEqual([1]);
    expect(channel.get()).toEqual([1, 2, 3]);
  });

  it("supports an update type that differs from the value type", () => {
    const channel = reducer(
      (counts: Readonly<Record<string, number>>, key: string) => ({
        ...counts,
        [key]: (counts[key] ?? 0) + 1,
      }),
      () => ({}),
    ).create();
    channel.update(["a", "b", "a"]);
    expect(channel.get()).toEqual({ a: 2, b: 1 });
  });

  it("leaves its value unchanged when the reducer throws", () => {
    const channel = reducer(
      (total: number, add: number) => {
        if (add < 0) throw new Error("negative");
        return total + add;
      },
      () => 0,
    ).create();
    channel.update([1]);
    expect(() => channel.update([2, -1])).toThrow("negative");
    expect(channel.get()).toBe(1);
  });

  it("restores to initial() from an empty snapshot", () => {
    const channel = reducer(
      (total: number, add: number) => total + add,
      () => 10,
    ).create();
    channel.update([5]);
    channel.restore(undefined);
    expect(channel.get()).toBe(10);
  });
});

describe("topic", () => {
  it("accumulates values across supersteps by default and spreads arrays", () => {
    const channel = topic<string>().create();
    expect(channel.isAvailable()).toBe(false);
    expect(channel.get()).toEqual([]);
    expect(channel.checkpoint()).toBeUndefined();

    expect(channel.update(["a", ["b", "c"]])).toBe(true);
    expect(channel.update([])).toBe(false);
    expect(channel.update([[]])).toBe(false);
    expect(channel.update(["d"])).toBe(true);
    expect(channel.isAvailable()).toBe(true);
    expect(channel.get()).toEqual(["a", "b", "c", "d"]);
    expect(channel.checkpoint()).toEqual(["a", "b", "c", "d"]);
  });

  it("with accumulate false, keeps only the last superstep's values", () => {
    const channel = topic<number>({ accumulate: false }).create();
    expect(channel.update([])).toBe(false);
    expect(channel.update([1, [2, 3]])).toBe(true);
    expect(channel.get()).toEqual([1, 2, 3]);
    expect(channel.update([4])).toBe(true);
    expect(channel.get()).toEqual([4]);
    // An empty superstep still clears it.
    expect(channel.update([])).toBe(true);
    expect(channel.isAvailable()).toBe(false);
    expect(channel.get()).toEqual([]);
    expect(channel.update([])).toBe(false);
  });

  it("does not change lists it handed out or was given", () => {
    const channel = topic<number>().create();
    const written = [1, 2];
    channel.update([written]);
    const seen = channel.get();
    seen.push(99);
    channel.update([3]);
    expect(written).toEqual([1, 2]);
    expect(seen).toEqual([1, 2, 99]);
    expect(channel.get()).toEqual([1, 2, 3]);
  });

  it("does not share arrays with its snapshots", () => {
    const channel = topic<number>().create();
    channel.update([1]);
    const snapshot = channel.checkpoint() as number[];
    snapshot.push(2);
    expect(channel.get()).toEqual([1]);

    const restored = topic<number>().create();
    const data = [7];
    restored.restore(data);
    data.push(8);
    expect(restored.get()).toEqual([7]);
  });

  it("rejects a snapshot that is not an array", () => {
    expect(() => topic().create().restore("nope")).toThrow(/array/);
  });
});

describe("ephemeral", () => {
  it("holds a value for one superstep and clears after one empty update", () => {
    const channel = ephemeral<string>().create();
    expect(channel.update([])).toBe(false);
    expect(channel.update(["x"])).toBe(true);
    expect(channel.get()).toBe("x");
    expect(channel.checkpoint()).toBe("x");

    expect(channel.update([])).toBe(true);
    expect(channel.isAvailable()).toBe(false);
    expect(() => channel.get()).toThrow(EmptyChannelError);
    expect(channel.checkpoint()).toBeUndefined();
    expect(channel.update([])).toBe(false);
  });

  it("takes a new value written in the next superstep", () => {
    const channel = ephemeral<number>().create();
    channel.update([1]);
    expect(channel.update([2])).toBe(true);
    expect(channel.get()).toBe(2);
  });

  it("rejects two writes in one superstep", () => {
    const channel = ephemeral<number>().create();
    expect(() => channel.update([1, 2, 3])).toThrow(MultipleWritesError);
    expect(channel.isAvailable()).toBe(false);
  });
});

describe("barrier", () => {
  it("becomes available once every name has written, across supersteps", () => {
    const channel = barrier(["a", "b"]).create();
    expect(channel.isAvailable()).toBe(false);
    expect(() => channel.get()).toThrow(EmptyChannelError);
    expect(channel.checkpoint()).toBeUndefined();

    expect(channel.update(["a"])).toBe(true);
    expect(channel.isAvailable()).toBe(false);
    expect(channel.update([])).toBe(false);
    expect(channel.update(["a"])).toBe(false);
    expect(channel.update(["b"])).toBe(true);
    expect(channel.isAvailable()).toBe(true);
    expect(channel.get()).toBeUndefined();
  });

  it("resets on the update after completion", () => {
    const channel = barrier(["a", "b"]).create();
    channel.update(["a", "b"]);
    expect(channel.isAvailable()).toBe(true);

    expect(channel.update([])).toBe(true);
    expect(channel.isAvailable()).toBe(false);
    expect(channel.checkpoint()).toBeUndefined();
    expect(channel.update([])).toBe(false);
  });

  it("resets and then counts the writes of the same update", () => {
    const channel = barrier(["a", "b"]).create();
    channel.update(["a", "b"]);

    expect(channel.update(["a", "b"])).toBe(true);
    expect(channel.isAvailable()).toBe(true);

    expect(channel.update(["b"])).toBe(true);
    expect(channel.isAvailable()).toBe(false);
    expect(channel.checkpoint()).toEqual(["b"]);
  });

  it("checkpoints the seen names sorted", () => {
    const channel = barrier(["c", "b", "a"]).create();
    channel.update(["c", "a"]);
    expect(channel.checkpoint()).toEqual(["a", "c"]);
  });

  it("rejects an unknown name, naming it and the expected ones, and changes nothing", () => {
    const channel = barrier(["a", "b"]).create();
    channel.update(["a"]);
    expect(() => channel.update(["b", "zed"])).toThrow(
      'barrier got unknown name "zed"; expected one of: a, b',
    );
    expect(channel.checkpoint()).toEqual(["a"]);
    expect(() => channel.restore(["a", "zed"])).toThrow(/unknown name "zed"/);
  });

  it("needs at least one name", () => {
    expect(() => barrier([])).toThrow(/at least one name/);
  });
});

describe("trigger", () => {
  it("is set by any number of writes and cleared by the next empty update", () => {
    const spec = trigger();
    expect(spec.kind).toBe("trigger");
    const channel = spec.create();
    expect(channel.update([])).toBe(false);
    expect(channel.isAvailable()).toBe(false);
    expect(() => channel.get()).toThrow(EmptyChannelError);

    expect(channel.update(["x", 1, undefined])).toBe(true);
    expect(channel.get()).toBe(true);
    // Writing again while set is still a change: it schedules the node again.
    expect(channel.update([null])).toBe(true);
    expect(channel.isAvailable()).toBe(true);

    expect(channel.update([])).toBe(true);
    expect(channel.isAvailable()).toBe(false);
    expect(channel.update([])).toBe(false);
  });
});

describe("untracked", () => {
  it("behaves like lastValue but is never checkpointed", () => {
    const spec = untracked<string>();
    expect(spec.persisted).toBe(false);
    expect(spec.kind).toBe("untracked");
    const channel = spec.create();
    expect(channel.isAvailable()).toBe(false);
    expect(channel.update(["handle"])).toBe(true);
    expect(channel.get()).toBe("handle");
    expect(channel.checkpoint()).toBeUndefined();
    expect(() => channel.update(["a", "b"])).toThrow(MultipleWritesError);
  });

  it("starts over from its default when restored", () => {
    const channel = untracked<number>({ default: () => 0 }).create();
    expect(channel.get()).toBe(0);
    channel.update([5]);
    channel.restore(undefined);
    expect(channel.get()).toBe(0);
  });
});

describe("kinds", () => {
  it("declares the right kind and persistence", () => {
    const specs: [ChannelSpec, ChannelSpec["kind"], boolean][] = [
      [lastValue(), "lastValue", true],
      [
        reducer(
          (a: number, b: number) => a + b,
          () => 0,
        ),
        "reducer",
        true,
      ],
      [topic(), "topic", true],
      [ephemeral(), "ephemeral", true],
      [barrier(["a"]), "barrier", true],
      [untracked(), "untracked", false],
      [trigger(), "trigger", true],
    ];
    for (const [spec, kind, persisted] of specs) {
      expect(spec.kind).toBe(kind);
      expect(spec.persisted).toBe(persisted);
    }
  });
});

/** A persisted channel and a history of update batches to drive it through. */
interface ReplayCase {
  readonly name: string;
  readonly spec: ChannelSpec;
  readonly batches: readonly (readonly unknown[])[];
}

const replayCases: readonly ReplayCase[] = [
  { name: "lastValue", spec: lastValue(), batches: [[], ["a"], [], ["b"], [{ deep: [1] }], []] },
  {
    name: "lastValue with default",
    spec: lastValue({ default: () => "d" }),
    batches: [[], ["a"], [], ["b"]],
  },
  {
    name: "reducer",
    spec: reducer(
      (list: readonly string[], item: string) => [...list, item],
      () => [],
    ),
    batches: [["a"], [], ["b", "c"], ["d"]],
  },
  { name: "topic", spec: topic(), batches: [["a"], [["b", "c"]], [], ["d"]] },
  {
    name: "topic without accumulate",
    spec: topic({ accumulate: false }),
    batches: [["a", "b"], [], ["c"], [["d", "e"]]],
  },
  { name: "ephemeral", spec: ephemeral(), batches: [["a"], [], [], ["b"], ["c"], []] },
  {
    name: "barrier",
    spec: barrier(["x", "y", "z"]),
    batches: [["x"], [], ["z"], ["y"], ["x"], ["x", "y", "z"], [], ["y"]],
  },
  { name: "trigger", spec: trigger(), batches: [[1], [], [], [1, 2], [3], []] },
];

function run(channel: Channel, batches: readonly (readonly unknown[])[]): Channel {
  for (const batch of batches) channel.update(batch);
  return channel;
}

describe.each(replayCases)("$name snapshots", ({ spec, batches }) => {
  it("restore(checkpoint()) on a fresh channel gives the same state", () => {
    for (let step = 0; step <= batches.length; step++) {
      const original = run(spec.create(), batches.slice(0, step));
      const restored = spec.create();
      restored.restore(original.checkpoint());
      expect(restored.isAvailable(), `after ${step} batches`).toBe(original.isAvailable());
      if (original.isAvailable()) expect(restored.get()).toEqual(original.get());
      expect(restored.checkpoint()).toEqual(original.checkpoint());
    }
  });

  it("replays the same from any midway snapshot as straight through", () => {
    const straight = run(spec.create(), batches);
    for (let split = 0; split <= batches.length; split++) {
      const before = run(spec.create(), batches.slice(0, split));
      const resumed = spec.create();
      resumed.restore(structuredClone(before.checkpoint()));
      run(resumed, batches.slice(split));
      expect(resumed.checkpoint(), `snapshot after ${split} batches`).toEqual(
        straight.checkpoint(),
      );
      expect(resumed.isAvailable()).toBe(straight.isAvailable());
    }
  });
});

describe("schema validation", () => {
  it("returns the schema's output", () => {
    expect(validateWith(positiveNumber, 3)).toBe(3);
    expect(validateWith(trimmedString, "  hi ")).toBe("hi");
  });

  it("throws with the issues and their paths", () => {
    expect(() => validateWith(positiveNumber, -1)).toThrow(
      "invalid value: count.0: must be a positive number",
    );
    expect(() => validateWith(trimmedString, 1)).toThrow("invalid value: not a string");
  });

  it("refuses asynchronous schemas", () => {
    expect(() => validateWith(asyncSchema, 1)).toThrow(/asynchronously/);
  });

  it("is wired into lastValue and reducer specs", () => {
    const last = lastValue({ schema: trimmedString });
    expect(last.validate?.(" a ")).toBe("a");
    expect(() => last.validate?.(42)).toThrow(/not a string/);

    const sum = reducer(
      (total: number, add: number) => total + add,
      () => 0,
      {
        schema: positiveNumber,
      },
    );
    expect(sum.validate?.(2)).toBe(2);
    expect(() => sum.validate?.(0)).toThrow(/positive number/);
  });
});
