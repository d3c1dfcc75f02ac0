import { describe, expect, it } from "vitest";
import type { ThreadExport } from "../../src/checkpointer.js";
import {
  CorruptRecordError,
  UnserializableValueError,
  UnsupportedFormatVersionError,
} from "../../src/errors.js";
import { FORMAT_VERSION } from "../../src/checkpoint.js";
import type { EncodedCheckpoint, EncodedPendingWrite } from "../../src/record.js";
import { loadGoldenFixtures } from "../golden.js";
import {
  type ConformanceOptions,
  ThreadWriter,
  uniqueThreadId,
  useCheckpointer,
} from "../harness.js";

type Mutable<T> = { -readonly [K in keyof T]: T[K] };
interface Records {
  checkpoints: Mutable<EncodedCheckpoint>[];
  pendingWrites: Mutable<EncodedPendingWrite>[];
}

/**
 * How each stored format holds a value, so that a hostile payload is written
 * in its record's own format: as a write, a snapshot entry, a pending write,
 * and a header with one node of versionsSeen. Arguments are JSON text.
 */
interface StoredForm {
  writes(json: string, meta?: string): string;
  snapshot(channel: string, json: string): string;
  pending(json: string): string;
  seenNode(node: string, channels: string): string;
}

const FORMS: Record<"current" | "v1", StoredForm> = {
  current: {
    writes: (json, meta) => `[["t","log",${json}${meta === undefined ? "" : `,${meta}`}]]`,
    snapshot: (channel, json) => `[[${JSON.stringify(channel)},${json}]]`,
    pending: (json) => `[${json}]`,
    seenNode: (node, channel) =>
      `[[${JSON.stringify(channel)},1],[[${JSON.stringify(node)},0,1]],[]]`,
  },
  v1: {
    writes: (json, meta) =>
      `[["t","log",{"json":${json}${meta === undefined ? "" : `,"meta":${meta}`}}]]`,
    snapshot: (channel, json) => `{${JSON.stringify(channel)}:{"json":${json}}}`,
    pending: (json) => `{"json":${json}}`,
    seenNode: (node, channel) =>
      `{"channelVersions":{},"versionsSeen":{${JSON.stringify(node)}:{${JSON.stringify(channel)}:1}},"next":[]}`,
  },
};

/** Stored payloads an attacker with write access to the database could plant. */
const HOSTILE: Record<
  string,
  {
    mutate: (data: Records, form: StoredForm) => void;
    error: new (...args: never[]) => Error;
    /** What the error's message must name, besides the thread. */
    names?: (data: Records) => string[];
  }
> = {
  "a __proto__ key in a value": {
    mutate: (d, form) =>
      void (d.checkpoints[1]!.writes = form.writes('{"__proto__":{"polluted":true}}')),
    error: CorruptRecordError,
  },
  "a __proto__ key inside a registered class": {
    mutate: (d, form) =>
      void (d.checkpoints[1]!.writes = form.writes(
        '{"amount":"1","currency":"EUR","__proto__":{"polluted":true}}',
        '{"values":[["class","waypoint-test:Money"]]}',
      )),
    error: CorruptRecordError,
  },
  "an annotation path through constructor.prototype": {
    mutate: (d, form) =>
      void (d.checkpoints[1]!.writes = form.writes(
        '{"a":"2020-01-01T00:00:00.000Z"}',
        '{"values":{"constructor.prototype.polluted":["Date"]}}',
      )),
    error: CorruptRecordError,
  },
  "a class that is not registered": {
    mutate: (d, form) =>
      void (d.checkpoints[1]!.writes = form.writes(
        '{"a":1}',
        '{"values":[["class","ChildProcess"]]}',
      )),
    error: CorruptRecordError,
  },
  // superjson read the bare pair as a node whose children are the string "ChildProcess",
  // and recursed through its characters until the stack overflowed.
  "an unknown class written as a bare annotation": {
    mutate: (d, form) =>
      void (d.checkpoints[1]!.writes = form.writes(
        '{"a":{"x":1}}',
        '{"values":{"a":["class","ChildProcess"]}}',
      )),
    error: CorruptRecordError,
    names: (d) => [d.checkpoints[1]!.id, 'channel "log"', "malformed type annotations"],
  },
  "an unknown custom type written as a bare root annotation": {
    mutate: (d, form) =>
      void (d.checkpoints[1]!.writes = form.writes('"x"', '{"values":["custom","Function"]}')),
    error: CorruptRecordError,
    names: (d) => [d.checkpoints[1]!.id, 'channel "log"', "malformed type annotations"],
  },
  "referential equalities that are not paths": {
    mutate: (d, form) =>
      void (d.checkpoints[1]!.writes = form.writes(
        '{"a":{}}',
        '{"referentialEqualities":{"a":"a.b"}}',
      )),
    error: CorruptRecordError,
    names: (d) => [d.checkpoints[1]!.id, 'channel "log"', "malformed type annotations"],
  },
  "a custom type that is not registered": {
    mutate: (d, form) =>
      void (d.checkpoints[1]!.writes = form.writes('"x"', '{"values":[["custom","Function"]]}')),
    error: CorruptRecordError,
  },
  "a __proto__ key in metadata": {
    mutate: (d) => void (d.checkpoints[1]!.metadata = '{"__proto__":{"polluted":true}}'),
    error: CorruptRecordError,
  },
  "a snapshot of a prototype key": {
    mutate: (d, form) =>
      void (d.checkpoints[0]!.snapshot = form.snapshot(
        "constructor",
        '{"prototype":{"polluted":true}}',
      )),
    error: CorruptRecordError,
  },
  "a node named __proto__ in versionsSeen": {
    mutate: (d, form) => void (d.checkpoints[1]!.header = form.seenNode("__proto__", "polluted")),
    error: CorruptRecordError,
  },
  "a channel named constructor in versionsSeen": {
    mutate: (d, form) => void (d.checkpoints[1]!.header = form.seenNode("agent", "constructor")),
    error: CorruptRecordError,
  },
  "a __proto__ key in a pending write": {
    mutate: (d, form) =>
      void (d.pendingWrites[0]!.value = form.pending('{"__proto__":{"polluted":true}}')),
    error: CorruptRecordError,
  },
  "a planned task whose node is not a string": {
    mutate: (d, form) =>
      void (d.checkpoints[1]!.header =
        form === FORMS.v1
          ? '{"channelVersions":{},"versionsSeen":{},"next":[{"id":"t","node":5,"triggers":[]}]}'
          : '[[],[],[["t",5,[]]]]'),
    error: CorruptRecordError,
    names: (d) => [d.checkpoints[1]!.id, "next[0]"],
  },
  "a header naming a channel position that does not exist": {
    mutate: (d, form) =>
      void (d.checkpoints[1]!.header =
        form === FORMS.v1
          ? '{"channelVersions":[],"versionsSeen":{},"next":[]}'
          : '[["log",1],[["agent",7,1]],[]]'),
    error: CorruptRecordError,
    names: (d) => [d.checkpoints[1]!.id, "header"],
  },
  "text that is not JSON": {
    mutate: (d) => void (d.checkpoints[1]!.header = "{not json"),
    error: CorruptRecordError,
  },
  "nesting a million levels deep": {
    mutate: (d, form) =>
      void (d.checkpoints[1]!.writes = form.writes(
        `${"[".repeat(1_000_000)}${"]".repeat(1_000_000)}`,
      )),
    error: CorruptRecordError,
  },
  "a base that lost its snapshot": {
    mutate: (d) => void (d.checkpoints[0]!.snapshot = null),
    error: CorruptRecordError,
  },
  "a parent cycle": {
    mutate: (d) => {
      d.checkpoints[1]!.parentId = d.checkpoints[2]!.id;
      d.checkpoints[2]!.parentId = d.checkpoints[1]!.id;
    },
    error: CorruptRecordError,
  },
  "a record from a format newer than this reader": {
    mutate: (d) => void (d.checkpoints[1]!.formatVersion = FORMAT_VERSION + 1),
    error: UnsupportedFormatVersionError,
  },
  "a pending write for a checkpoint that does not exist": {
    mutate: (d) => void d.pendingWrites.forEach((w) => (w.checkpointId = "nope")),
    error: CorruptRecordError,
  },
};

export function hostileSpec(options: ConformanceOptions): void {
  describe("hostile payloads", () => {
    const checkpointer = useCheckpointer(options);

    async function exportedThread(): Promise<ThreadExport> {
      const writer = new ThreadWriter(checkpointer(), uniqueThreadId("hostile-source"));
      for (let step = 0; step < 3; step += 1) await writer.write({ log: step });
      await checkpointer().putPendingWrites(
        { threadId: writer.threadId, checkpointId: writer.head!.id },
        [{ taskId: "t", idx: 0, channel: "log", value: 1 }],
      );
      return checkpointer().exportThread(writer.threadId);
    }

    /** The thread to tamper with: one written now, or the format-1 golden fixture. */
    const sources: Record<keyof typeof FORMS, () => Promise<ThreadExport>> = {
      current: exportedThread,
      v1: () => Promise.resolve(loadGoldenFixtures().find(([name]) => name.startsWith("v1/"))![1]),
    };

    for (const [label, { mutate, error, names }] of Object.entries(HOSTILE)) {
      for (const format of ["current", "v1"] as const) {
        it(`refuses ${label} (${format} format), writes nothing and touches no prototype`, async () => {
          const threadId = uniqueThreadId("hostile");
          const data = {
            ...(JSON.parse(JSON.stringify(await sources[format]())) as ThreadExport),
            threadId,
          };
          const records = {
            checkpoints: data.checkpoints
              .map((c) => ({ ...c, threadId }))
              .sort((a, b) => (a.id < b.id ? -1 : 1)),
            pendingWrites: data.pendingWrites.map((w) => ({ ...w, threadId })),
          };
          mutate(records, FORMS[format]);
          const thrown = await checkpointer()
            .importThread({ ...data, ...records })
            .catch((e: unknown) => e);
          expect(thrown).toBeInstanceOf(error);
          if (names !== undefined) {
            for (const name of [`thread "${threadId}"`, ...names(records)]) {
              expect((thrown as Error).message).toContain(name);
            }
          }
          expect(({} as Record<string, unknown>).polluted).toBeUndefined();
          expect(Object.prototype).not.toHaveProperty("polluted");
          expect(await checkpointer().get(threadId)).toBeUndefined();
        });
      }
    }

    it("refuses to save values that would not come back, naming the channel and the path", async () => {
      const cases: [unknown, string][] = [
        [{ tools: [{ run: () => 1 }] }, "notes.tools[0].run"],
        [{ socket: new (class Socket {})() }, "notes.socket"],
        [JSON.parse('{"__proto__": {"polluted": true}}'), "notes.__proto__"],
        [{ constructor: "Ford" }, "notes.constructor"],
        [{ pending: Promise.resolve(1) }, "notes.pending"],
        [{ [Symbol("hidden")]: 1 }, "notes"],
        // eslint-disable-next-line no-sparse-arrays -- a hole is the point of the case
        [[1, , 3], "notes[1]"],
      ];
      const writer = new ThreadWriter(checkpointer(), uniqueThreadId("unsaveable"));
      await writer.write({ notes: "fine" });
      for (const [value, path] of cases) {
        const thrown = await writer.write({ notes: value }).catch((e: unknown) => e);
        expect(thrown, path).toBeInstanceOf(UnserializableValueError);
        expect((thrown as Error).message).toContain('channel "notes"');
        expect((thrown as UnserializableValueError).data.path).toBe(path);
      }
      expect((await checkpointer().get(writer.threadId))?.checkpoint.step).toBe(0);
    });

    it("refuses metadata that is not plain JSON with a typed error naming the path, even a cycle", async () => {
      const cyclic: Record<string, unknown> = { run: { id: "r1" } };
      (cyclic.run as Record<string, unknown>).parent = cyclic;
      let deep: Record<string, unknown> = {};
      const root = deep;
      for (let i = 0; i < 5_000; i += 1) deep = deep.x = {};
      const shared = { by: "both" };
      const cases: [Record<string, unknown>, string, RegExp][] = [
        [cyclic, "metadata.run.parent", /cycle/],
        [root, `metadata${".x".repeat(1_000)}`, /deeper/],
        [{ when: new Date(0) }, "metadata.when", /plain JSON/],
        [{ score: Number.NaN }, "metadata.score", /not valid JSON/],
      ];
      const writer = new ThreadWriter(checkpointer(), uniqueThreadId("metadata"));
      await writer.write({ notes: "fine" });
      for (const [metadata, path, problem] of cases) {
        const thrown = await writer
          .write({ notes: "x" }, { metadata: metadata as never })
          .catch((e: unknown) => e);
        expect(thrown, path).toBeInstanceOf(UnserializableValueError);
        expect((thrown as UnserializableValueError).data.path).toBe(path);
        expect((thrown as Error).message).toMatch(problem);
      }
      expect((await checkpointer().get(writer.threadId))?.checkpoint.step).toBe(0);
      // The same object twice is fine in JSON text.
      await writer.write({ notes: "y" }, { metadata: { a: shared, b: shared } });
      expect((await checkpointer().get(writer.threadId))?.checkpoint.metadata).toMatchObject({
        a: { by: "both" },
        b: { by: "both" },
      });
    });
  });
}
