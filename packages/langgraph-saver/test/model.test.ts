import type { RunnableConfig } from "@langchain/core/runnables";
import {
  INTERRUPT,
  MemorySaver,
  uuid6,
  type BaseCheckpointSaver,
  type Checkpoint,
  type CheckpointTuple,
} from "@langchain/langgraph-checkpoint";
import { MemoryCheckpointer } from "@waypoint/checkpoint";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { WaypointSaver } from "../src/index.js";

/**
 * Random sequences of puts (from the head, an older checkpoint or none),
 * pending writes, deletions, reads and listings, run on LangGraph's
 * MemorySaver and on WaypointSaver: every read must give the same tuples.
 */

const THREADS = ["a", "b"];
const NAMESPACES = ["", "child"];
const CHANNELS = ["messages", "count", "flag"] as const;

const change = fc.oneof(
  fc.constant({ kind: "keep" as const }),
  fc.record({
    kind: fc.constant("append" as const),
    items: fc.array(fc.string(), { maxLength: 3 }),
  }),
  fc.record({
    kind: fc.constant("set" as const),
    value: fc.oneof(fc.integer(), fc.array(fc.string())),
  }),
  fc.constant({ kind: "delete" as const }),
);

const command = fc.oneof(
  {
    weight: 5,
    arbitrary: fc.record({
      kind: fc.constant("put" as const),
      thread: fc.nat(),
      namespace: fc.nat(),
      parent: fc.oneof(fc.constant("head" as const), fc.constant("none" as const), fc.nat()),
      changes: fc.tuple(change, change, change),
      source: fc.constantFrom("input", "loop", "update"),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant("putWrites" as const),
      target: fc.nat(),
      task: fc.constantFrom("t1", "t2", "t3"),
      path: fc.constantFrom("", "~a", "~b"),
      writes: fc.array(
        fc.tuple(
          fc.constantFrom("messages", "count", INTERRUPT),
          fc.oneof(fc.string(), fc.integer()),
        ),
        { minLength: 1, maxLength: 3 },
      ),
    }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("delete" as const), thread: fc.nat() }) },
  {
    weight: 3,
    arbitrary: fc.record({
      kind: fc.constant("list" as const),
      thread: fc.option(fc.nat(), { nil: undefined }),
      namespace: fc.option(fc.nat(), { nil: undefined }),
      before: fc.option(fc.nat(), { nil: undefined }),
      limit: fc.option(fc.integer({ min: 1, max: 4 }), { nil: undefined }),
      source: fc.option(fc.constantFrom("input", "loop"), { nil: undefined }),
    }),
  },
);

interface Written {
  readonly config: RunnableConfig;
  readonly checkpoint: Checkpoint;
}

async function collect(
  saver: BaseCheckpointSaver,
  ...args: Parameters<BaseCheckpointSaver["list"]>
) {
  const tuples: CheckpointTuple[] = [];
  for await (const tuple of saver.list(...args)) tuples.push(tuple);
  return tuples;
}

const byId = (tuples: CheckpointTuple[]) =>
  [...tuples].sort((a, b) => (a.checkpoint.id < b.checkpoint.id ? -1 : 1));

describe("WaypointSaver against LangGraph's MemorySaver as a model", () => {
  it("gives the same tuples for any sequence of puts, writes, deletions and listings", async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(command, { minLength: 1, maxLength: 25 }), async (commands) => {
        const model: BaseCheckpointSaver = new MemorySaver();
        const saver = new WaypointSaver(new MemoryCheckpointer({ snapshots: { maxChain: 3 } }));
        const written: Written[] = [];
        const pick = <T>(list: readonly T[], index: number) => list[index % list.length]!;

        for (const step of commands) {
          if (step.kind === "put") {
            const thread_id = pick(THREADS, step.thread);
            // LangGraph writes a subgraph's checkpoints under a root one; listing
            // every thread finds threads by their root (docs/langgraph-saver.md).
            const hasRoot = written.some(
              ({ config }) =>
                config.configurable?.thread_id === thread_id &&
                config.configurable?.checkpoint_ns === "",
            );
            const checkpoint_ns = hasRoot ? pick(NAMESPACES, step.namespace) : "";
            const own = written.filter(
              ({ config }) =>
                config.configurable?.thread_id === thread_id &&
                config.configurable?.checkpoint_ns === checkpoint_ns,
            );
            const parent =
              step.parent === "none" || own.length === 0
                ? undefined
                : step.parent === "head"
                  ? own.at(-1)
                  : pick(own, step.parent);
            const values: Record<string, unknown> = {
              ...(parent?.checkpoint.channel_values ?? {}),
            };
            const versions = { ...(parent?.checkpoint.channel_versions ?? {}) };
            const newVersions: Record<string, number> = {};
            const next = Math.max(0, ...Object.values(versions).map(Number)) + 1;
            step.changes.forEach((channelChange, index) => {
              const channel = CHANNELS[index]!;
              if (channelChange.kind === "keep") return;
              if (channelChange.kind === "delete") delete values[channel];
              else if (channelChange.kind === "set") values[channel] = channelChange.value;
              else {
                const before = values[channel];
                values[channel] = [
                  ...(Array.isArray(before) ? (before as unknown[]) : []),
                  ...channelChange.items,
                ];
              }
              versions[channel] = next;
              newVersions[channel] = next;
            });
            const checkpoint: Checkpoint = {
              v: 4,
              id: uuid6(-1),
              ts: new Date().toISOString(),
              channel_values: values,
              channel_versions: versions,
              versions_seen: { node: { ...versions } },
            };
            const config = {
              configurable: { thread_id, checkpoint_ns, checkpoint_id: parent?.checkpoint.id },
            };
            const metadata = { source: step.source, step: written.length, parents: {} };
            const stored = await model.put(config, checkpoint, metadata, newVersions);
            expect(await saver.put(config, checkpoint, metadata, newVersions)).toEqual(stored);
            written.push({ config: stored, checkpoint });
            expect(await saver.getTuple(stored)).toEqual(await model.getTuple(stored));
          } else if (step.kind === "putWrites") {
            if (written.length === 0) continue;
            const { config } = pick(written, step.target);
            await model.putWrites(config, step.writes, step.task, step.path);
            await saver.putWrites(config, step.writes, step.task, step.path);
            expect(await saver.getTuple(config)).toEqual(await model.getTuple(config));
          } else if (step.kind === "delete") {
            const threadId = pick(THREADS, step.thread);
            await model.deleteThread(threadId);
            await saver.deleteThread(threadId);
            written.splice(
              0,
              written.length,
              ...written.filter(({ config }) => config.configurable?.thread_id !== threadId),
            );
          } else {
            const config = {
              configurable: {
                thread_id: step.thread === undefined ? undefined : pick(THREADS, step.thread),
                checkpoint_ns:
                  step.namespace === undefined ? undefined : pick(NAMESPACES, step.namespace),
              },
            };
            const before =
              step.before === undefined || written.length === 0
                ? undefined
                : pick(written, step.before).config;
            const filter = step.source === undefined ? undefined : { source: step.source };
            const all = await collect(model, config, { before, filter });
            const listed = await collect(saver, config, { before, filter, limit: step.limit });
            if (step.limit === undefined || step.limit >= all.length) {
              expect(byId(listed)).toEqual(byId(all));
            } else {
              // Across threads, LangGraph's savers differ in order; the page is a subset.
              expect(listed).toHaveLength(step.limit);
              for (const tuple of listed) expect(all).toContainEqual(tuple);
            }
          }
        }
        for (const { config } of written) {
          expect(await saver.getTuple(config)).toEqual(await model.getTuple(config));
        }
      }),
      { numRuns: 60 },
    );
    // Under half a second alone; a loaded CI machine gets room.
  }, 30_000);
});
