import { describe, expect, it } from "vitest";
import type { Checkpointer } from "../../src/checkpointer.js";
import { InvalidArgumentError } from "../../src/errors.js";
import {
  type ConformanceOptions,
  ThreadWriter,
  collect,
  rebuild,
  uniqueThreadId,
  useCheckpointer,
} from "../harness.js";

/**
 * One identity rule on every backend: ids, namespaces, names and metadata
 * keys are non-empty, at most 512 code units, without NUL, well-formed
 * Unicode. A lone surrogate cannot be stored as itself (PostgreSQL and Redis
 * store U+FFFD, so `x\ud800` and `x\udbff` would be one thread; SQLite cannot
 * read it back), so it is refused before anything is written.
 */
const BAD_IDS: Record<string, (base: string) => string> = {
  "a lone high surrogate": (base) => `${base}-\ud800`,
  "a lone low surrogate": (base) => `${base}-\udc00x`,
  "a reversed surrogate pair": (base) => `${base}-\ude00\ud83d`,
  "a NUL": (base) => `${base}\u0000x`,
  "513 characters": (base) => base.padEnd(513, "x"),
};

async function refusal(
  call: () => Promise<unknown>,
): Promise<InvalidArgumentError & { data: { argument: string } }> {
  const thrown = await call().catch((e: unknown) => e);
  expect(thrown).toBeInstanceOf(InvalidArgumentError);
  expect((thrown as InvalidArgumentError).code).toBe("INVALID_ARGUMENT");
  return thrown as InvalidArgumentError & { data: { argument: string } };
}

/** Every thread whose id starts with `prefix`, whatever the backend's order. */
async function threadsStartingWith(checkpointer: Checkpointer, prefix: string): Promise<string[]> {
  const found: string[] = [];
  let after: string | undefined;
  for (;;) {
    const page = await checkpointer.listThreads({ limit: 1000, ...(after ? { after } : {}) });
    found.push(...page.threads.map((t) => t.threadId).filter((id) => id.startsWith(prefix)));
    if (page.nextCursor === null) return found;
    after = page.nextCursor;
  }
}

/** A small seeded generator: text of random UTF-16 units, lone surrogates and NUL included. */
function randomText(seed: number): () => string {
  let state = seed >>> 0;
  const next = () => {
    state = (Math.imul(state, 1_664_525) + 1_013_904_223) >>> 0;
    return state;
  };
  const pools = [
    () => 0x61 + (next() % 26),
    () => next() % 0x80,
    () => 0xd800 + (next() % 0x800),
    () => next() % 0x10000,
    () => 0,
  ];
  return () => {
    const length = next() % 12;
    let text = "";
    for (let i = 0; i < length; i += 1) {
      text += String.fromCharCode(pools[next() % pools.length]!());
      // A valid pair now and then, which must be accepted.
      if (next() % 8 === 0) text += "\ud83d\ude00";
    }
    return text;
  };
}

function isStorable(text: string): boolean {
  return text.length > 0 && text.length <= 512 && !text.includes("\u0000") && !/\p{Cs}/u.test(text);
}

export function identitySpec(options: ConformanceOptions): void {
  describe("identity rule", () => {
    const checkpointer = useCheckpointer(options);

    for (const [label, make] of Object.entries(BAD_IDS)) {
      it(`refuses a thread id, namespace and checkpoint id holding ${label}, naming it, and writes nothing`, async () => {
        const prefix = uniqueThreadId("ident");
        const bad = make(prefix);
        const cp = checkpointer();

        const asThread = new ThreadWriter(cp, bad);
        expect((await refusal(() => asThread.write({ notes: 1 }))).data.argument).toBe(
          "checkpoint.threadId",
        );
        const asNamespace = new ThreadWriter(cp, prefix, bad);
        expect((await refusal(() => asNamespace.write({ notes: 1 }))).data.argument).toBe(
          "checkpoint.namespace",
        );
        const asId = new ThreadWriter(cp, prefix);
        expect((await refusal(() => asId.write({ notes: 1 }, { id: bad }))).data.argument).toBe(
          "checkpoint.id",
        );
        expect(await threadsStartingWith(cp, prefix)).toEqual([]);

        // A sound thread next to the refused ones: reads that name a bad id are refused too.
        const sound = new ThreadWriter(cp, prefix);
        await sound.write({ notes: "kept" });
        const reads: [string, () => Promise<unknown>][] = [
          ["threadId", () => cp.get(bad)],
          ["namespace", () => cp.get(prefix, { namespace: bad })],
          ["checkpointId", () => cp.get(prefix, { checkpointId: bad })],
          ["threadId", () => collect(cp.list(bad))],
          ["before", () => collect(cp.list(prefix, { before: bad }))],
          ["threadId", () => cp.deleteThread(bad)],
          ["threadId", () => cp.exportThread(bad)],
          [
            "threadId",
            () => cp.putPendingWrites({ threadId: bad, checkpointId: sound.head!.id }, []),
          ],
          ["checkpointId", () => cp.putPendingWrites({ threadId: prefix, checkpointId: bad }, [])],
          ["threadId", () => cp.copyThread(bad, `${prefix}-copy`)],
          ["threadId", () => cp.copyThread(prefix, bad)],
          ["threadId", () => cp.prune({ threadId: bad, keepLast: 1 })],
          ["after", () => cp.listThreads({ after: bad })],
        ];
        for (const [argument, read] of reads) {
          const error = await refusal(read);
          // A copy may name fromThreadId or toThreadId.
          expect(error.data.argument, argument).toMatch(
            new RegExp(`^${argument}|${argument}$`, "i"),
          );
        }
        const pending = await refusal(() =>
          cp.putPendingWrites({ threadId: prefix, checkpointId: sound.head!.id }, [
            { taskId: bad, idx: 0, channel: "notes", value: 1 },
          ]),
        );
        expect(pending.data.argument).toBe("writes[0].taskId");
        const channel = await refusal(() =>
          cp.putPendingWrites({ threadId: prefix, checkpointId: sound.head!.id }, [
            { taskId: "t", idx: 0, channel: bad, value: 1 },
          ]),
        );
        expect(channel.data.argument).toBe("writes[0].channel");
        const write = await refusal(() => sound.write([[bad, 1]]));
        expect(write.data.argument).toBe("checkpoint.writes[0].channel");

        expect(await threadsStartingWith(cp, prefix)).toEqual([prefix]);
        const loaded = await cp.get(prefix);
        expect(loaded?.checkpoint.step).toBe(0);
        expect(loaded?.pendingWrites).toEqual([]);
        expect(rebuild(loaded!)).toEqual({ notes: "kept" });
      });
    }

    it("never lets two ids that differ only in a lone surrogate meet, nor meet U+FFFD", async () => {
      const prefix = uniqueThreadId("surrogates");
      const cp = checkpointer();
      for (const unit of ["\ud800", "\udbff", "\udfff"]) {
        await refusal(() => new ThreadWriter(cp, `${prefix}-${unit}`).write({ notes: unit }));
        await refusal(() => cp.get(`${prefix}-${unit}`));
      }
      const replacement = new ThreadWriter(cp, `${prefix}-\ufffd`);
      expect(await cp.get(replacement.threadId)).toBeUndefined();
      await replacement.write({ notes: "replacement" });
      expect(rebuild((await cp.get(replacement.threadId))!)).toEqual({ notes: "replacement" });
      expect(await threadsStartingWith(cp, prefix)).toEqual([`${prefix}-\ufffd`]);
    });

    it("refuses metadata keys and strings holding a lone surrogate or a NUL, naming the path", async () => {
      const cp = checkpointer();
      const writer = new ThreadWriter(cp, uniqueThreadId("metadata-text"));
      await writer.write({ notes: "fine" });
      const cases: [Record<string, unknown>, string][] = [
        // The key is written escaped, so that the error itself can be stored.
        [{ "x\ud800": 1 }, 'metadata key "x\\ud800"'],
        [{ "x\u0000": 1 }, 'metadata key "x\\u0000"'],
        [{ ["k".repeat(513)]: 1 }, `metadata key "${"k".repeat(40)}…"`],
        [{ user: "x\udc00" }, "metadata.user"],
        [{ user: "a\u0000b" }, "metadata.user"],
        [{ tags: ["ok", "\ud83d"] }, "metadata.tags[1]"],
        [{ run: { "by\udfff": "me" } }, 'metadata.run key "by\\udfff"'],
      ];
      for (const [metadata, argument] of cases) {
        const error = await refusal(() =>
          writer.write({ notes: "x" }, { metadata: metadata as never }),
        );
        expect(error.data.argument).toBe(argument);
      }
      const headers = await collect(cp.list(writer.threadId));
      expect(headers.map((h) => h.step)).toEqual([0]);
      // Paired surrogates are well-formed and come back exactly.
      await writer.write({ notes: "y" }, { metadata: { "emoji-\ud83d\ude00": "\ud83d\ude00" } });
      expect((await cp.get(writer.threadId))?.checkpoint.metadata).toEqual({
        "emoji-\ud83d\ude00": "\ud83d\ude00",
      });
    });

    it("refuses a run whose thread id, graph or metadata breaks the rule, and queues nothing", async () => {
      const runs = checkpointer().runs;
      if (runs === undefined) return;
      const threadId = uniqueThreadId("run-ident");
      const cases: [Parameters<typeof runs.create>[0], string][] = [
        [{ threadId: `${threadId}\ud800`, graph: "g", input: 1 }, "threadId"],
        [{ threadId, graph: "g\u0000", input: 1 }, "graph"],
        [{ threadId, graph: "g", input: 1, metadata: { "k\udc00": 1 } }, 'metadata key "k\\udc00"'],
        [{ threadId, graph: "g", input: 1, metadata: { user: "\ud800" } }, "metadata.user"],
      ];
      for (const [request, argument] of cases) {
        expect((await refusal(() => runs.create(request))).data.argument).toBe(argument);
      }
      expect(await runs.list({ threadId })).toEqual([]);
    });

    it("refuses a run id, worker id, listing filter or fence that breaks the rule, naming it, and changes nothing", async () => {
      const cp = checkpointer();
      const runs = cp.runs;
      if (runs === undefined) return;
      const threadId = uniqueThreadId("run-ids");
      const run = await runs.create({ threadId, graph: "g", input: 1 });
      const before = await runs.get(run.id);
      for (const make of Object.values(BAD_IDS)) {
        const bad = make(run.id);
        const calls: [string, () => Promise<unknown>][] = [
          ["runId", () => runs.get(bad)],
          ["runId", () => runs.cancel(bad)],
          ["runId", () => runs.pause(bad)],
          ["runId", () => runs.resume(bad)],
          ["threadId", () => runs.list({ threadId: make(threadId) })],
          ["before", () => runs.list({ before: bad })],
          ["workerId", () => runs.claim({ workerId: bad, leaseMs: 60_000 })],
          ["fence.runId", () => runs.heartbeat({ runId: bad, token: 1 }, 60_000)],
          ["fence.runId", () => runs.finish({ runId: bad, token: 1 }, { status: "succeeded" })],
          ["fence.runId", () => runs.release({ runId: bad, token: 1 })],
        ];
        for (const [argument, call] of calls) {
          expect((await refusal(call)).data.argument, argument).toBe(argument);
        }
      }
      for (const token of [-1, 1.5, Number.NaN, "1"]) {
        const fence = { runId: run.id, token: token as number };
        expect((await refusal(() => runs.heartbeat(fence, 60_000))).data.argument).toBe(
          "fence.token",
        );
      }
      // A fenced write naming a bad run is refused before anything is written.
      const writer = new ThreadWriter(cp, threadId);
      const fence = { runId: `${run.id}\ud800`, token: 1 };
      expect((await refusal(() => writer.write({ notes: 1 }, { fence }))).data.argument).toBe(
        "fence.runId",
      );
      expect(await cp.get(threadId)).toBeUndefined();
      await writer.write({ notes: 1 });
      const pending = await refusal(() =>
        cp.putPendingWrites({ threadId, checkpointId: writer.head!.id }, [], { fence }),
      );
      expect(pending.data.argument).toBe("fence.runId");
      expect(await runs.get(run.id)).toEqual(before);
      expect((await cp.get(threadId))?.pendingWrites).toEqual([]);
    });

    it("refuses a metadata filter no stored metadata could match the same way on every backend", async () => {
      const cp = checkpointer();
      const writer = new ThreadWriter(cp, uniqueThreadId("filter-text"));
      await writer.write({ notes: 1 }, { metadata: { user: "ada" } });
      const cases: [unknown, string][] = [
        [{ user: undefined }, "filter.user"],
        [{ user: () => "ada" }, "filter.user"],
        [{ user: new Date(0) }, "filter.user"],
        [{ user: Number.NaN }, "filter.user"],
        [{ user: "a\u0000" }, "filter.user"],
        [{ user: ["\ud800"] }, "filter.user[0]"],
        [{ "user\udc00": "ada" }, 'filter key "user\\udc00"'],
        [["user"], "filter"],
        [null, "filter"],
      ];
      for (const [filter, argument] of cases) {
        const error = await refusal(() =>
          collect(cp.list(writer.threadId, { filter: filter as never })),
        );
        expect(error.data.argument, JSON.stringify(argument)).toBe(argument);
      }
      const found = await collect(cp.list(writer.threadId, { filter: { user: "ada" } }));
      expect(found.map((h) => h.step)).toEqual([0]);
    });

    it("stores channel values holding lone surrogates and NUL exactly (they are escaped JSON)", async () => {
      const cp = checkpointer();
      const writer = new ThreadWriter(cp, uniqueThreadId("value-text"));
      const value = { text: "a\ud800b\udc00c\u0000d", list: ["\udbff", "\u0000"] };
      await writer.write({ notes: value });
      await writer.write({ log: "x\udfff" });
      await cp.putPendingWrites({ threadId: writer.threadId, checkpointId: writer.head!.id }, [
        { taskId: "t", idx: 0, channel: "notes", value: "p\ud800\u0000" },
      ]);
      const loaded = (await cp.get(writer.threadId))!;
      expect(rebuild(loaded)).toEqual({ notes: value, log: ["x\udfff"] });
      expect(loaded.pendingWrites[0]?.value).toBe("p\ud800\u0000");
    });

    it("either round-trips or refuses with INVALID_ARGUMENT, for arbitrary text as ids (seeded)", async () => {
      const cp = checkpointer();
      const prefix = uniqueThreadId("fuzz");
      const text = randomText(0x5eed);
      const accepted: string[] = [];
      for (let round = 0; round < 60; round += 1) {
        const threadId = `${prefix}-${round}-${text()}`;
        const namespace = text();
        const channel = text();
        const metadata = { [text()]: text() };
        const writer = new ThreadWriter(cp, threadId, namespace);
        const storable =
          isStorable(threadId) &&
          (namespace === "" || isStorable(namespace)) &&
          isStorable(channel) &&
          !["__proto__", "constructor", "prototype"].includes(channel) &&
          [...Object.keys(metadata), ...Object.values(metadata)].every(
            (t) => !t.includes("\u0000") && !/\p{Cs}/u.test(t),
          );
        const outcome = await writer
          .write([[channel, channel]], { metadata })
          .then(() => "ok" as const)
          .catch((e: unknown) => e);
        if (!storable) {
          expect(outcome, JSON.stringify([threadId, namespace, channel])).toBeInstanceOf(
            InvalidArgumentError,
          );
          continue;
        }
        expect(outcome, JSON.stringify([threadId, namespace, channel])).toBe("ok");
        if (namespace === "") accepted.push(threadId);
        const loaded = (await cp.get(threadId, { namespace }))!;
        expect(rebuild(loaded)).toEqual({ [channel]: channel });
        expect(loaded.checkpoint.metadata).toEqual(metadata);
        expect(loaded.checkpoint.threadId).toBe(threadId);
        expect(loaded.checkpoint.namespace).toBe(namespace);
      }
      const listed = await threadsStartingWith(cp, prefix);
      for (const threadId of accepted) expect(listed).toContain(threadId);
      for (const threadId of listed) expect(isStorable(threadId)).toBe(true);
    });
  });
}
