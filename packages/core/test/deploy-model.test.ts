/**
 * The deploy model test: random sequences of rounds on one thread. Each
 * round runs the thread to an interrupt on version k, may first try a
 * version k+1 that must be refused (its planned node removed, or a migration
 * that throws), deploys version k+1 with a random change (changed code, an
 * added node, an added or removed channel that holds no value, a rename, a
 * migration), and resumes there. After every step: the thread is one chain,
 * every checkpoint's metadata.graph names the version that wrote it, a
 * migration checkpoint is written exactly when the deploy renamed or
 * migrated, the state equals the model's, and a refused load wrote nothing.
 *
 *   FUZZ_RUNS=30      sequences per store (CI); more to search harder
 *   FUZZ_SEED=<n>     the seed (fixed in CI)
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { Checkpointer, CheckpointHeader, PendingWrite } from "@waypoint/checkpoint";
import {
  Command,
  END,
  START,
  StateGraph,
  defineState,
  interrupt,
  lastValue,
  type CompileOptions,
} from "@waypoint/core";
import { STORES, appendLog } from "./support/stores.js";

const RUNS = Number(process.env.FUZZ_RUNS ?? 30);
const SEED = Number(process.env.FUZZ_SEED ?? 20_261_207);

const CHANGES = ["code", "addNode", "addChannel", "removeChannel", "rename", "migrate"] as const;
type Change = (typeof CHANGES)[number];

interface Round {
  readonly change: Change;
  /** Before the real deploy, a version k+1 that must be refused. */
  readonly refused: "none" | "removedNode" | "throwingMigration";
  readonly answer: string;
}

/** One version of the graph: what the model needs to build it and to predict what it does. */
interface Shape {
  readonly version: number;
  readonly ask: string;
  readonly extras: number;
  readonly channels: readonly string[];
  readonly code: number;
  readonly migrate: boolean;
  readonly renamedFrom?: string;
}

const migrated = (version: number) => (state: Record<string, unknown>) => ({
  ...state,
  count: Number(state.count) * 10,
  log: [...(state.log as string[]), `m${version}`],
});

function build(shape: Shape, checkpointer: Checkpointer, broken?: Round["refused"]) {
  const State = defineState({
    log: appendLog(),
    count: lastValue<number>({ default: () => 0 }),
    ...Object.fromEntries(
      shape.channels.map((name) => [name, lastValue<string>({ default: () => name })]),
    ),
  });
  const { code, ask } = shape;
  let graph = new StateGraph(State).addNode("work", (s) => ({
    count: s.count + 1,
    log: `work@${code}`,
  }));
  const options: CompileOptions = {
    checkpointer,
    version: shape.version,
    ...(shape.renamedFrom !== undefined && broken !== "removedNode"
      ? { renamedNodes: { [shape.renamedFrom]: ask } }
      : {}),
    ...(shape.migrate || broken === "throwingMigration"
      ? {
          migrations: {
            [shape.version]:
              broken === "throwingMigration"
                ? () => {
                    throw new Error("a bad migration");
                  }
                : migrated(shape.version),
          },
        }
      : {}),
  };
  // A version that forgot the node the thread is paused in.
  if (broken === "removedNode")
    return graph.addEdge(START, "work").addEdge("work", END).compile(options);
  graph = graph.addNode(ask, () => {
    const answer = interrupt<string>("ok?");
    return { log: `${ask}@${code}:${answer}` };
  });
  graph = graph.addEdge(START, "work").addEdge("work", ask);
  let last = ask;
  for (let i = 1; i <= shape.extras; i += 1) {
    const name = `x${i}`;
    graph = graph.addNode(name, () => ({ log: `${name}@${code}` })).addEdge(last, name);
    last = name;
  }
  return graph.addEdge(last, END).compile(options);
}

/** The next version of `shape` under `change`. */
function deployed(shape: Shape, change: Change): Shape {
  const next = {
    ...shape,
    version: shape.version + 1,
    migrate: change === "migrate",
    renamedFrom: undefined,
  };
  switch (change) {
    case "code":
      return { ...next, code: shape.code + 1 };
    case "addNode":
      return { ...next, extras: shape.extras + 1 };
    case "addChannel":
      return { ...next, channels: [...shape.channels, `c${next.version}`] };
    case "removeChannel":
      return { ...next, channels: shape.channels.slice(1) };
    case "rename":
      return { ...next, ask: `ask${next.version}`, renamedFrom: shape.ask };
    case "migrate":
      return next;
  }
}

interface Stored {
  readonly headers: CheckpointHeader[];
  readonly pendingWrites: readonly PendingWrite[];
}

async function storedOf(checkpointer: Checkpointer, threadId: string): Promise<Stored> {
  const headers: CheckpointHeader[] = [];
  for await (const header of checkpointer.list(threadId)) headers.push(header);
  return { headers, pendingWrites: (await checkpointer.get(threadId))?.pendingWrites ?? [] };
}

/** The model's view of the thread, and the checks after each step. */
class World {
  log: string[] = [];
  count = 0;
  /** Checkpoint id → the version that wrote it. */
  readonly writtenBy = new Map<string, number>();
  readonly fingerprints = new Map<number, string>();
  migrations = 0;

  constructor(
    readonly checkpointer: Checkpointer,
    readonly threadId: string,
  ) {}

  /** Runs `step` on `shape`'s graph, then checks every invariant. */
  async step(shape: Shape, run: () => Promise<unknown>, migrates = false): Promise<unknown> {
    const result = await run();
    const { headers } = await storedOf(this.checkpointer, this.threadId);
    // One chain: each checkpoint follows the one before it.
    for (let i = 0; i + 1 < headers.length; i += 1)
      expect(headers[i]!.parentId).toBe(headers[i + 1]!.id);
    expect(headers.at(-1)?.parentId).toBeNull();
    for (const header of headers) {
      if (!this.writtenBy.has(header.id)) this.writtenBy.set(header.id, shape.version);
      const graph = header.metadata.graph as { version: number; fingerprint: string };
      expect(graph.version).toBe(this.writtenBy.get(header.id));
      const fingerprint = this.fingerprints.get(graph.version) ?? graph.fingerprint;
      this.fingerprints.set(graph.version, fingerprint);
      expect(graph.fingerprint).toBe(fingerprint);
    }
    if (migrates) this.migrations += 1;
    const migrations = headers.filter((h) => h.metadata.source === "migration");
    expect(migrations).toHaveLength(this.migrations);
    const state = await build(shape, this.checkpointer).getState(this.threadId);
    expect(state?.values).toMatchObject({ log: this.log, count: this.count });
    return result;
  }

  /** A load that must be refused: the error's code, and nothing written. */
  async refused(graph: ReturnType<typeof build>, code: string): Promise<void> {
    const before = await storedOf(this.checkpointer, this.threadId);
    await expect(
      graph.invoke(new Command({ resume: "never" }), { threadId: this.threadId }),
    ).rejects.toMatchObject({ code });
    expect(await storedOf(this.checkpointer, this.threadId)).toEqual(before);
  }
}

const rounds = fc.array(
  fc.record({
    change: fc.constantFrom(...CHANGES),
    refused: fc.constantFrom("none", "none", "removedNode", "throwingMigration"),
    answer: fc.constantFrom("yes", "no", "later"),
  }),
  { minLength: 1, maxLength: 6 },
);

describe.each(STORES)("deploys in random order on $name", (store) => {
  it("keep one chain whose checkpoints name their version, and the state the model predicts", async () => {
    const checkpointer = store.create();
    let threads = 0;
    await fc.assert(
      fc.asyncProperty(rounds, async (plan) => {
        const world = new World(checkpointer, `t${++threads}`);
        let shape: Shape = {
          version: 1,
          ask: "ask1",
          extras: 0,
          channels: ["c0"],
          code: 1,
          migrate: false,
        };
        for (const [index, round] of plan.entries()) {
          const current = shape;
          world.log.push(`in${index}`, `work@${current.code}`);
          world.count += 1;
          const paused = (await world.step(current, () =>
            build(current, checkpointer).invoke(
              { log: `in${index}` },
              { threadId: world.threadId },
            ),
          )) as { __interrupt__?: unknown[] };
          expect(paused.__interrupt__).toHaveLength(1);
          const next = deployed(current, round.change);
          if (round.refused === "removedNode")
            await world.refused(build(next, checkpointer, "removedNode"), "GRAPH_CHANGED");
          if (round.refused === "throwingMigration")
            await world.refused(build(next, checkpointer, "throwingMigration"), "MIGRATION_FAILED");
          if (next.migrate) {
            world.count *= 10;
            world.log.push(`m${next.version}`);
          }
          world.log.push(`${next.ask}@${next.code}:${round.answer}`);
          for (let i = 1; i <= next.extras; i += 1) world.log.push(`x${i}@${next.code}`);
          const done = (await world.step(
            next,
            () =>
              build(next, checkpointer).invoke(new Command({ resume: round.answer }), {
                threadId: world.threadId,
              }),
            next.migrate || next.renamedFrom !== undefined,
          )) as { __interrupt__?: unknown[] };
          expect(done.__interrupt__).toBeUndefined();
          shape = next;
        }
      }),
      { numRuns: RUNS, seed: SEED },
    );
  }, 120_000);
});
