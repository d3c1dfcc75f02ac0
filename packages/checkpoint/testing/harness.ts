import { afterEach, beforeEach } from "vitest";
import type { CheckpointHeader, CheckpointMetadata } from "../src/checkpoint.js";
import type { Checkpointer, CheckpointerOptions, LoadedCheckpoint } from "../src/checkpointer.js";
import type { PendingWrite } from "../src/pending-writes.js";
import type { Fence } from "../src/runs.js";
import { createSerializer } from "../src/serializer.js";
import type { SnapshotPolicy } from "../src/snapshot-policy.js";

/** How the conformance suites make a backend's checkpointer for each test, and clean up after it. */
export interface ConformanceOptions {
  /** Shown in test names. */
  readonly name: string;
  /** A fresh, empty checkpointer using the given options. */
  create(options: CheckpointerOptions): Checkpointer | Promise<Checkpointer>;
  /** Called after each test; defaults to `close()`. Drop the test's data here. */
  destroy?(checkpointer: Checkpointer): void | Promise<void>;
}

/** A class the suite registers, to prove registered classes come back with their prototype. */
export class Money {
  constructor(
    readonly amount: bigint,
    readonly currency: string,
  ) {}
  /** The amount and the currency, e.g. `"12 EUR"`. */
  format(): string {
    return `${this.amount} ${this.currency}`;
  }
}

/** A serializer with the suite's registrations (Money): what the suites pass to `create`. */
export function suiteSerializer() {
  return createSerializer({ classes: [{ type: Money, identifier: "waypoint-test:Money" }] });
}

/**
 * Registers a fresh checkpointer per test and returns a getter for it.
 * `snapshots` lets a spec choose the snapshot policy it exercises.
 */
export function useCheckpointer(
  options: ConformanceOptions,
  snapshots?: Partial<SnapshotPolicy>,
): () => Checkpointer {
  let current: Checkpointer | undefined;
  beforeEach(async () => {
    current = await options.create({
      serializer: suiteSerializer(),
      ...(snapshots ? { snapshots } : {}),
    });
  });
  afterEach(async () => {
    if (current === undefined) return;
    await (options.destroy ? options.destroy(current) : current.close());
    current = undefined;
  });
  return () => {
    if (current === undefined) throw new Error("checkpointer used outside a test");
    return current;
  };
}

let threadCounter = 0;
/**
 * A thread id no other test uses, in this process or another: `label`, the
 * process id, the time and a counter.
 */
export function uniqueThreadId(label: string): string {
  threadCounter += 1;
  return `${label}-${process.pid}-${Date.now().toString(36)}-${threadCounter}`;
}

/**
 * The suite's reference semantics for two kinds of channel: `log` appends
 * each write, every other channel keeps the last value written. The suite
 * rebuilds state with it to check what a backend returns.
 */
export function applyWrite(values: Record<string, unknown>, channel: string, value: unknown): void {
  values[channel] =
    channel === "log" ? [...((values[channel] as unknown[] | undefined) ?? []), value] : value;
}

/**
 * The state a loaded checkpoint stands for: its base snapshot with its deltas
 * replayed (`log` appends each write, every other channel keeps the last one).
 */
export function rebuild(loaded: LoadedCheckpoint): Record<string, unknown> {
  // applyWrite never mutates: it builds a new array, so a shallow copy is enough.
  const values: Record<string, unknown> = { ...loaded.base.values };
  for (const delta of loaded.deltas) {
    for (const write of delta.writes) applyWrite(values, write.channel, write.value);
  }
  return values;
}

/** What `ThreadWriter.write` puts besides the writes; each has a default derived from the step. */
export interface StepOptions {
  readonly metadata?: CheckpointMetadata;
  readonly next?: CheckpointHeader["next"];
  /** Instead of every channel at the step's number, and one node that has seen "log". */
  readonly channelVersions?: CheckpointHeader["channelVersions"];
  readonly versionsSeen?: CheckpointHeader["versionsSeen"];
}

/**
 * Writes a thread the way the runtime does: it keeps the state in memory,
 * puts one checkpoint per step with that step's writes, and hands over a
 * snapshot only when the checkpointer asks for one.
 */
export class ThreadWriter {
  head: CheckpointHeader | null = null;
  state: Record<string, unknown> = {};
  snapshotCalls = 0;
  /** Told to the store with every put: the channels whose writes add ("log", as applyWrite treats it). */
  accumulating: ReadonlySet<string> | undefined;
  private step = -1;

  constructor(
    private readonly checkpointer: Checkpointer,
    readonly threadId: string,
    readonly namespace = "",
  ) {}

  /** Continues from another writer's position: a fork when `from` is not the head. */
  static fork(
    source: ThreadWriter,
    from: CheckpointHeader,
    stateAtFrom: Record<string, unknown>,
    threadId = source.threadId,
  ): ThreadWriter {
    const writer = new ThreadWriter(source.checkpointer, threadId, source.namespace);
    writer.head = from;
    writer.state = { ...stateAtFrom };
    writer.step = from.step;
    return writer;
  }

  /**
   * Puts the next step's checkpoint with `writes`, after the writer's head,
   * passing the other options on to `put`. On success the writer's state and
   * head move to the new checkpoint.
   */
  async write(
    writes: Readonly<Record<string, unknown>> | readonly [string, unknown][],
    options: StepOptions & {
      expectedHeadId?: string | null;
      id?: string;
      fence?: Fence;
      pendingWrites?: readonly PendingWrite[];
    } = {},
  ): Promise<CheckpointHeader> {
    const entries: readonly [string, unknown][] = isEntryList(writes)
      ? writes
      : Object.entries(writes);
    const nextState = { ...this.state };
    for (const [channel, value] of entries) applyWrite(nextState, channel, value);
    const header = await this.checkpointer.put({
      checkpoint: {
        threadId: this.threadId,
        namespace: this.namespace,
        ...(options.id === undefined ? {} : { id: options.id }),
        step: this.step + 1,
        channelVersions:
          options.channelVersions ??
          Object.fromEntries(Object.keys(nextState).map((c) => [c, this.step + 2])),
        versionsSeen: options.versionsSeen ?? { agent: { log: this.step + 1 } },
        next: options.next ?? [{ id: `task-${this.step + 2}`, node: "agent", triggers: ["log"] }],
        writes: entries.map(([channel, value], index) => ({
          taskId: `task-${this.step + 1}-${index}`,
          channel,
          value,
        })),
        metadata: options.metadata ?? { source: "loop", step: this.step + 1 },
      },
      parent: this.head,
      ...(options.expectedHeadId === undefined ? {} : { expectedHeadId: options.expectedHeadId }),
      ...(options.fence === undefined ? {} : { fence: options.fence }),
      ...(options.pendingWrites === undefined ? {} : { pendingWrites: options.pendingWrites }),
      ...(this.accumulating === undefined ? {} : { accumulating: this.accumulating }),
      snapshot: () => {
        this.snapshotCalls += 1;
        return nextState;
      },
    });
    this.state = nextState;
    this.head = header;
    this.step += 1;
    return header;
  }
}

function isEntryList(
  writes: Readonly<Record<string, unknown>> | readonly [string, unknown][],
): writes is readonly [string, unknown][] {
  return Array.isArray(writes);
}

/** Every item of an async iterable, in order, as an array (e.g. a `list`). */
export async function collect<T>(iterable: AsyncIterable<T>): Promise<T[]> {
  const items: T[] = [];
  for await (const item of iterable) items.push(item);
  return items;
}
