import {
  ERROR_CHANNEL,
  INTERRUPT_CHANNEL,
  RESUME_CHANNEL,
  ThreadNotFoundError,
  newCheckpointId,
  serializeError,
  type ChannelWrite,
  type Checkpointer,
  type CheckpointHeader,
  type CheckpointMetadata,
  type LoadedCheckpoint,
  type PendingWrite,
  type PlannedTask,
} from "@waypoint/checkpoint";
import { Command, SLOT, START } from "../constants.js";
import { RecursionLimitError } from "../errors.js";
import type { GraphSpec } from "../graph/graph-spec.js";
import { ChannelSet } from "./channel-set.js";
import type { Interrupt, TaskRuntime } from "./interrupt.js";
import { directWrites, writesOf } from "./node-writes.js";
import {
  interruptSlots,
  pendingInterrupts,
  resumeValuesFor,
  taskIsDone,
  taskWritesFrom,
} from "./pending.js";
import { plan } from "./planner.js";
import { resumeWrites } from "./resume.js";
import type { StreamEvent, StreamMode } from "./stream-events.js";
import {
  carried,
  doneWrites,
  slotKey,
  staticInterrupt,
  statusWrite,
  updateOf,
} from "./run-helpers.js";
import { TaskJournal } from "./task-journal.js";
import { faultPoint, faultsArmed } from "../faults.js";
import { runTask } from "./task-runner.js";

/**
 * - `sync` (default): a superstep ends when its checkpoint is durable.
 * - `async`: the checkpoint is written while the next superstep runs.
 * - `exit`: one checkpoint when the run stops (finished, interrupted or failed).
 */
export type Durability = "sync" | "async" | "exit";

export interface RunOptions {
  readonly threadId: string;
  readonly namespace: string;
  readonly recursionLimit: number;
  readonly durability: Durability;
  readonly signal: AbortSignal;
  /** Stops at the next superstep boundary without aborting running nodes. */
  readonly stop?: AbortSignal;
  /** Added to every checkpoint's metadata. */
  readonly metadata?: CheckpointMetadata;
  /** Time travel: continue from this checkpoint (a fork) instead of the head. */
  readonly checkpointId?: string;
  readonly interruptBefore: ReadonlySet<string>;
  readonly interruptAfter: ReadonlySet<string>;
  readonly emit: (event: StreamEvent) => void;
  /** The stream modes someone listens to; events of other modes are never built. */
  readonly modes: ReadonlySet<StreamMode>;
}

/** Marks a subgraph's first input: values to take as they are, not as updates. */
export class Seed {
  constructor(readonly values: Readonly<Record<string, unknown>>) {}
}

export interface RunResult {
  readonly values: Record<string, unknown>;
  readonly interrupts: readonly Interrupt[];
}

interface Superstep {
  readonly writes: ChannelWrite[];
  readonly interrupts: Interrupt[];
  readonly error: unknown;
}

/** What a superstep's tasks hand back, by task id, as they finish. */
interface TaskResults {
  readonly writes: Map<string, ChannelWrite[]>;
  readonly interrupts: Map<string, readonly Interrupt[]>;
  error: unknown;
}

/**
 * One invocation of a graph on a thread: load (or fork from) a checkpoint,
 * apply the input or the resume, then run supersteps until the plan is empty,
 * an interrupt, an error, or the recursion limit. Each superstep ends with one
 * checkpoint. When a superstep has several tasks, each one saves its writes as
 * soon as it finishes, so that it does not run again after a crash.
 */
export class RunLoop {
  private readonly channels: ChannelSet;
  /** The current checkpoint (written or, with "exit", still in memory). */
  private checkpointId: string | null;
  private step: number;
  private versions: Record<string, number>;
  private versionsSeen: Record<string, Record<string, number>>;
  private next: readonly PlannedTask[];
  private pending: PendingWrite[];
  private inputStep: number;
  /**
   * The last checkpoint stored (the parent of the next one): its header, or
   * with "async" the put still under way. Kept as a plain value when known, so
   * that a "sync" put does not wait on an already settled promise.
   */
  private stored: CheckpointHeader | null | Promise<CheckpointHeader | null>;
  private storedId: string | null;
  private unsavedWrites: ChannelWrite[] = [];
  /** Handed to subgraphs that run as nodes. */
  private runtime: TaskRuntime;
  /** Whether this run's input checkpoint is saved (a conflict before it is safe to retry). */
  private inputSaved = false;
  private unsavedMetadata: CheckpointMetadata | null = null;

  private constructor(
    private readonly spec: GraphSpec,
    private readonly checkpointer: Checkpointer,
    private options: RunOptions,
    loaded: LoadedCheckpoint | undefined,
    headId: string | null,
  ) {
    const checkpoint = loaded?.checkpoint;
    this.channels = ChannelSet.fromLoaded(spec.channels, spec.stateKeys, loaded);
    this.checkpointId = checkpoint?.id ?? null;
    this.step = checkpoint?.step ?? -2;
    this.versions = { ...checkpoint?.channelVersions };
    this.versionsSeen = { ...checkpoint?.versionsSeen };
    this.next = checkpoint?.next ?? [];
    // A fork runs its tasks afresh: the old checkpoint's pending writes belong to the old branch.
    this.pending = options.checkpointId === undefined ? [...(loaded?.pendingWrites ?? [])] : [];
    this.inputStep = Number(checkpoint?.metadata.inputStep ?? checkpoint?.step ?? -1);
    this.stored = checkpoint ?? null;
    this.storedId = headId;
    this.runtime = runtimeOf(checkpointer, options);
  }

  /**
   * Takes up a finished loop for the next input on the same thread, keeping
   * its channels instead of reloading them. Safe because the input checkpoint
   * is written before any node runs: if another writer moved the thread, that
   * write fails with a conflict and the caller reloads (see `inputSaved`).
   */
  reuse(options: RunOptions): this {
    this.options = options;
    this.runtime = runtimeOf(this.checkpointer, options);
    this.inputSaved = false;
    return this;
  }

  get threadId(): string {
    return this.options.threadId;
  }

  get savedInput(): boolean {
    return this.inputSaved;
  }

  /** Writes to untracked channels are applied but never stored. */
  private persisted(writes: ChannelWrite[]): ChannelWrite[] {
    return this.spec.untracked.size === 0
      ? writes
      : writes.filter((w) => !this.spec.untracked.has(w.channel));
  }

  private wants(mode: StreamMode): boolean {
    return this.options.modes.has(mode);
  }

  private emit(event: () => StreamEvent): void {
    this.options.emit(event());
  }

  /** Whether the thread (in this namespace) has a checkpoint to continue from. */
  get started(): boolean {
    return this.checkpointId !== null;
  }

  /** Interrupts waiting for an answer at the current checkpoint. */
  openInterrupts(): Interrupt[] {
    return pendingInterrupts(this.pending);
  }

  static async open(
    spec: GraphSpec,
    checkpointer: Checkpointer,
    options: RunOptions,
  ): Promise<RunLoop> {
    const { threadId, namespace, checkpointId } = options;
    const loaded = await checkpointer.get(threadId, {
      namespace,
      ...(checkpointId ? { checkpointId } : {}),
    });
    let headId = loaded?.checkpoint.id ?? null;
    if (checkpointId !== undefined) {
      for await (const header of checkpointer.list(threadId, { namespace, limit: 1 }))
        headId = header.id;
    }
    return new RunLoop(spec, checkpointer, options, loaded, headId);
  }

  /** A run on a thread that must be new: nothing to read; its input put expects no head. */
  static fresh(spec: GraphSpec, checkpointer: Checkpointer, options: RunOptions): RunLoop {
    return new RunLoop(spec, checkpointer, options, undefined, null);
  }

  async run(input: unknown): Promise<RunResult> {
    try {
      if (input instanceof Command && input.resume !== undefined) await this.resume(input.resume);
      else if (input instanceof Seed) await this.applySeed(input.values);
      else if (input !== null && input !== undefined) await this.applyInput(input);
      else if (this.checkpointId === null) throw new ThreadNotFoundError(this.options.threadId);
      else await this.approveStaticInterrupts();
      const waiting = pendingInterrupts(this.pending).filter((i) => i.kind === "dynamic");
      if (waiting.length > 0) return this.result(waiting);
      return await this.loop();
    } finally {
      await this.flush();
    }
  }

  private async loop(): Promise<RunResult> {
    while (
      this.next.length > 0 &&
      !this.options.signal.aborted &&
      this.options.stop?.aborted !== true
    ) {
      if (this.step - this.inputStep >= this.options.recursionLimit) {
        throw new RecursionLimitError(this.options.recursionLimit, this.options.threadId);
      }
      const { interruptBefore, interruptAfter } = this.options;
      const held =
        interruptBefore.size === 0
          ? []
          : this.next.filter((t) => interruptBefore.has(t.node) && !this.released(t.id));
      if (held.length > 0)
        return this.pause(held.map((t) => staticInterrupt(t.id, t.node, "before", this.options)));
      const ran = interruptAfter.size === 0 ? [] : this.next.map((task) => task.node);
      const superstep = await this.superstep();
      if (superstep.interrupts.length > 0) return this.result(superstep.interrupts);
      // Rethrown as the node threw it, so callers can catch their own error types.
      // eslint-disable-next-line @typescript-eslint/only-throw-error
      if (superstep.error !== undefined) throw superstep.error;
      await this.commit(superstep.writes, "loop");
      const after = [...new Set(ran.filter((node) => interruptAfter.has(node)))];
      if (after.length > 0)
        return this.pause(
          after.map((n) => staticInterrupt(`after:${n}`, n, "after", this.options)),
        );
    }
    return this.result([]);
  }

  /** Runs the planned tasks that have not finished yet, concurrently. */
  private async superstep(): Promise<Superstep> {
    const step = this.step + 1;
    const state = this.channels.values();
    const results: TaskResults = { writes: new Map(), interrupts: new Map(), error: undefined };
    // A lone task (every step of a chain) is awaited by itself: Promise.all
    // and a closure per task would cost promises on every superstep.
    if (this.next.length === 1) await this.runPlanned(this.next[0]!, step, state, results);
    else await Promise.all(this.next.map((task) => this.runPlanned(task, step, state, results)));
    // Writes (and interrupts) come in plan order, whatever order the tasks finished in.
    return {
      writes: this.next.flatMap((task) => results.writes.get(task.id) ?? []),
      interrupts: this.next.flatMap((task) => results.interrupts.get(task.id) ?? []),
      error: results.error,
    };
  }

  /** Runs one planned task (unless it finished before a crash) and records its outcome. */
  private async runPlanned(
    task: PlannedTask,
    step: number,
    state: Record<string, unknown>,
    results: TaskResults,
  ): Promise<void> {
    const earlier =
      this.pending.length === 0 ? this.pending : this.pending.filter((w) => w.taskId === task.id);
    if (taskIsDone(earlier)) {
      results.writes.set(task.id, taskWritesFrom(earlier));
      return;
    }
    const base = { id: task.id, name: task.node, step };
    const input = task.send ? task.send.payload : state;
    if (this.wants("tasks"))
      this.emit(() => ({ mode: "tasks", data: { event: "start", ...base, input } }));
    const outcome = await runTask({
      task,
      node: this.spec.nodes.get(task.node)!,
      input,
      threadId: this.options.threadId,
      namespace: this.options.namespace,
      step,
      resumeValues: resumeValuesFor(earlier),
      signal: this.options.signal,
      writer: (chunk) =>
        this.wants("custom") ? this.emit(() => ({ mode: "custom", data: chunk })) : undefined,
      streamMessage: (chunk) =>
        this.wants("messages")
          ? this.emit(() => ({
              mode: "messages",
              data: [
                chunk,
                { node: task.node, taskId: task.id, step, namespace: this.options.namespace },
              ],
            }))
          : undefined,
      runtime: this.runtime,
      checkpointId: this.checkpointId!,
      journal: new TaskJournal(
        task.id,
        earlier,
        (writes) => this.savePending(writes),
        async () => this.stored,
      ),
      concurrent: this.next.length > 1,
    });
    if (outcome.kind === "interrupted") {
      results.interrupts.set(task.id, outcome.interrupts);
      await this.savePending([statusWrite(task.id, INTERRUPT_CHANNEL, outcome.interrupts)]);
      if (this.wants("tasks"))
        this.emit(() => ({
          mode: "tasks",
          data: { event: "end", ...base, interrupts: outcome.interrupts },
        }));
      return;
    }
    try {
      if (outcome.kind === "failed") throw outcome.error;
      // Only routers can be async: a node without conditional edges needs no await here.
      const writes = this.spec.branches.has(task.node)
        ? await writesOf(this.spec, this.channels, task.id, task.node, outcome.result)
        : directWrites(this.spec, task.id, task.node, outcome.result);
      results.writes.set(task.id, writes);
      if (this.next.length > 1) await this.savePending(doneWrites(task.id, this.persisted(writes)));
      if (this.wants("tasks"))
        this.emit(() => ({
          mode: "tasks",
          data: { event: "end", ...base, result: outcome.result },
        }));
      if (this.wants("updates"))
        this.emit(() => ({ mode: "updates", data: { [task.node]: updateOf(outcome.result) } }));
    } catch (failure) {
      results.error ??= failure;
      const serialized = serializeError(failure);
      await this.savePending([
        { taskId: task.id, idx: SLOT.error, channel: ERROR_CHANNEL, value: serialized },
      ]);
      if (this.wants("tasks"))
        this.emit(() => ({ mode: "tasks", data: { event: "end", ...base, error: serialized } }));
    }
  }

  /**
   * updateState: applies `values` as if `asNode` had returned them (its edges
   * fire), or as a plain state edit without `asNode`. Tasks already planned
   * stay planned.
   */
  async update(values: unknown, asNode: string | undefined): Promise<string> {
    if (this.checkpointId === null) throw new ThreadNotFoundError(this.options.threadId);
    try {
      const writes = await writesOf(
        this.spec,
        this.channels,
        "__update__",
        asNode ?? "__update__",
        values,
      );
      const held = new Set(
        interruptSlots(this.pending)
          .filter((slot) => slot.interrupts.some((i) => i.kind === "before"))
          .flatMap((slot) => slot.interrupts.map((i) => i.node)),
      );
      await this.commit(writes, "update", this.next);
      // Editing the state at an interruptBefore pause is how it is approved:
      // the next invoke(null) runs those nodes instead of pausing again.
      const release = this.next.filter((task) => held.has(task.node));
      await this.savePending(
        release.map((task) =>
          statusWrite(task.id, RESUME_CHANNEL, [
            staticInterrupt(task.id, task.node, "before", this.options),
          ]),
        ),
      );
      return this.checkpointId;
    } finally {
      await this.flush();
    }
  }

  /**
   * A subgraph's first run: the parent's values become the shared channels'
   * state as they are (a reducer must not fold the parent's whole list in as
   * one update). Such a state does not follow from writes, so this input
   * checkpoint stores a full snapshot.
   */
  private async applySeed(values: Readonly<Record<string, unknown>>): Promise<void> {
    for (const [key, value] of Object.entries(values)) {
      if (value === undefined || !this.spec.stateKeys.includes(key)) continue;
      this.channels.channels.get(key)!.restore(value);
      this.versions[key] = (this.versions[key] ?? 0) + 1;
    }
    const writes = await writesOf(this.spec, this.channels, "__input__", START, undefined);
    this.next = [];
    await this.commit(writes, "input", [], true);
    this.inputSaved = true;
  }

  private async applyInput(input: unknown): Promise<void> {
    const writes = await writesOf(this.spec, this.channels, "__input__", START, input);
    this.next = [];
    await this.commit(writes, "input");
    this.inputSaved = true;
  }

  /** Applies the writes, plans the next superstep, and saves one checkpoint. */
  private async commit(
    writes: ChannelWrite[],
    source: "input" | "loop" | "update",
    carry: readonly PlannedTask[] = [],
    forceSnapshot = false,
  ): Promise<void> {
    // Node names are looked up only for an error message, so no map is built per commit.
    const nodeOf = (id: string) => this.next.find((task) => task.id === id)?.node ?? id;
    for (const name of this.channels.apply(writes, nodeOf)) {
      this.versions[name] = (this.versions[name] ?? 0) + 1;
    }
    const id = newCheckpointId(this.checkpointId ?? this.storedId);
    const planned = plan({
      nodes: this.spec.plannerNodes,
      channels: this.channels.channels,
      versions: this.versions,
      versionsSeen: this.versionsSeen,
      threadId: this.options.threadId,
      namespace: this.options.namespace,
      checkpointId: id,
    });
    this.step += 1;
    if (source === "input") this.inputStep = this.step;
    this.checkpointId = id;
    this.versionsSeen = planned.versionsSeen;
    this.next =
      carry.length === 0
        ? planned.tasks
        : [...planned.tasks, ...carried(carry, planned.tasks, id, this.options)];
    this.pending = [];
    if (faultsArmed()) await faultPoint("before-commit");
    const metadata = {
      ...this.options.metadata,
      source,
      step: this.step,
      inputStep: this.inputStep,
    };
    if (this.options.durability === "exit") {
      this.unsavedWrites = this.persisted(writes);
      this.unsavedMetadata = metadata;
    } else {
      await this.putCheckpoint(this.persisted(writes), metadata, forceSnapshot);
    }
    if (faultsArmed()) await faultPoint("after-commit");
    if (this.wants("values")) this.emit(() => ({ mode: "values", data: this.channels.values() }));
  }

  private async putCheckpoint(
    writes: ChannelWrite[],
    metadata: CheckpointMetadata,
    forceSnapshot: boolean,
  ) {
    // The next put needs its parent's header (its chain), which the previous put returns.
    const parent = this.stored instanceof Promise ? await this.stored : this.stored;
    const header = this.checkpointer.put({
      checkpoint: {
        threadId: this.options.threadId,
        namespace: this.options.namespace,
        id: this.checkpointId!,
        step: this.step,
        channelVersions: { ...this.versions },
        versionsSeen: this.versionsSeen,
        next: this.next,
        writes,
        metadata,
      },
      parent,
      expectedHeadId: this.storedId,
      snapshot: () => this.channels.snapshot(),
      forceSnapshot,
    });
    this.storedId = this.checkpointId;
    if (this.options.durability === "sync") {
      // A put that fails leaves `stored` as it was; the error ends the run.
      this.stored = this.saved(await header);
      return;
    }
    this.stored = header.then((saved) => this.saved(saved));
  }

  private saved(header: CheckpointHeader): CheckpointHeader {
    if (this.wants("checkpoints")) this.emit(() => ({ mode: "checkpoints", data: header }));
    return header;
  }

  /** Waits for writes in flight; with "exit", writes the one checkpoint and its pending writes. */
  private async flush(): Promise<void> {
    if (this.unsavedMetadata !== null) {
      const metadata = this.unsavedMetadata;
      this.unsavedMetadata = null;
      await this.putCheckpoint(this.unsavedWrites, metadata, true);
    }
    if (this.stored instanceof Promise) await this.stored;
    if (this.options.durability === "exit" && this.pending.length > 0)
      await this.writePending(this.pending);
  }

  private async pause(interrupts: Interrupt[]): Promise<RunResult> {
    await this.savePending(interrupts.map((i) => statusWrite(i.taskId, INTERRUPT_CHANNEL, [i])));
    return this.result(interrupts);
  }

  private result(interrupts: readonly Interrupt[]): RunResult {
    return { values: this.channels.values(), interrupts };
  }

  private released(taskId: string): boolean {
    return this.pending.some(
      (w) => w.taskId === taskId && w.idx === SLOT.status && w.channel === RESUME_CHANNEL,
    );
  }

  /** `invoke(null)` approves interruptBefore / interruptAfter pauses. */
  private async approveStaticInterrupts(): Promise<void> {
    const statics = interruptSlots(this.pending).filter((slot) =>
      slot.interrupts.every((i) => i.kind !== "dynamic"),
    );
    await this.savePending(
      statics.map((slot) => statusWrite(slot.taskId, RESUME_CHANNEL, slot.interrupts)),
    );
  }

  private async resume(resume: unknown): Promise<void> {
    if (this.checkpointId === null) throw new ThreadNotFoundError(this.options.threadId);
    const writes = resumeWrites(this.pending, resume);
    await this.savePending(writes);
  }

  private async savePending(writes: PendingWrite[]): Promise<void> {
    if (writes.length === 0) return;
    const replaced = new Set(writes.map(slotKey));
    this.pending = [...this.pending.filter((w) => !replaced.has(slotKey(w))), ...writes];
    if (this.options.durability !== "exit") await this.writePending(writes);
  }

  private async writePending(writes: PendingWrite[]): Promise<void> {
    if (this.stored instanceof Promise) await this.stored; // the checkpoint they belong to must exist first
    await this.checkpointer.putPendingWrites(
      {
        threadId: this.options.threadId,
        namespace: this.options.namespace,
        checkpointId: this.checkpointId!,
      },
      writes,
    );
  }
}

function runtimeOf(checkpointer: Checkpointer, options: RunOptions): TaskRuntime {
  return {
    checkpointer,
    recursionLimit: options.recursionLimit,
    durability: options.durability,
    emit: options.emit,
    modes: options.modes,
  };
}
