import {
  ERROR_CHANNEL,
  INTERRUPT_CHANNEL,
  RESUME_CHANNEL,
  ThreadNotFoundError,
  serializeError,
  type ChannelWrite,
  type Checkpointer,
  type LoadedCheckpoint,
  type PlannedTask,
} from "@waypoint/checkpoint";
import { Command, SLOT, START } from "../constants.js";
import { CheckpointerRequiredError, InvalidResumeError, RecursionLimitError } from "../errors.js";
import type { GraphSpec } from "../graph/graph-spec.js";
import type { Interrupt } from "./graph-interrupt.js";
import type { TaskRuntime } from "./task-scope.js";
import { directWrites, writesOf } from "./node-writes.js";
import {
  finishedWrites,
  openInterruptsOf,
  originOf,
  pendingOf,
  updateFromWrites,
} from "./edits.js";
import {
  interruptSlots,
  pendingInterrupts,
  resumeValuesFor,
  taskIsDone,
  taskWritesFrom,
} from "./pending.js";
import { resumeWrites } from "./resume.js";
import { doneWrites, staticInterrupt, statusWrite, updateOf } from "./run-helpers.js";
import { TaskJournal } from "./task-journal.js";
import { runTask, type TaskOutcome } from "./task-runner.js";
import { ThreadWriter, type RunOptions } from "./thread-writer.js";
import { prepareThread } from "./deploy.js";
import { ParentCommand, isParentCommand } from "./parent-command.js";
import { debugTask, debugTaskResult } from "./debug-events.js";
import { ignoreChunk, messageStream } from "./message-metadata.js";

export type { Durability, RunOptions, StateUpdate } from "./thread-writer.js";

/** How long a run may keep the event loop between two supersteps (see `loop`). */
const YIELD_EVERY_MS = 5;

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

/** What a task's "tasks" and debug events start with. */
interface TaskEventBase {
  readonly id: string;
  readonly name: string;
  readonly step: number;
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
export class RunLoop extends ThreadWriter {
  /** Handed to subgraphs that run as nodes. */
  private runtime: TaskRuntime;

  private constructor(
    spec: GraphSpec,
    checkpointer: Checkpointer,
    options: RunOptions,
    loaded: LoadedCheckpoint | undefined,
    headId: string | null,
  ) {
    super(spec, checkpointer, options, loaded, headId);
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
    addSerializerPlugins(spec, checkpointer);
    const get = () =>
      checkpointer.get(threadId, { namespace, ...(checkpointId ? { checkpointId } : {}) });
    const loaded = await (options.telemetry?.load(get) ?? get());
    let headId = loaded?.checkpoint.id ?? null;
    if (checkpointId !== undefined) {
      for await (const header of checkpointer.list(threadId, { namespace, limit: 1 }))
        headId = header.id;
    }
    // Written by another version or shape of the graph: renamed, migrated and checked first.
    const prepared = await prepareThread(spec, checkpointer, loaded);
    const loop = new RunLoop(spec, checkpointer, options, prepared.loaded, headId);
    if (prepared.migrated) await loop.saveMigration(prepared.from ?? 1);
    return loop;
  }

  /** A run on a thread that must be new: nothing to read; its input put expects no head. */
  static fresh(spec: GraphSpec, checkpointer: Checkpointer, options: RunOptions): RunLoop {
    addSerializerPlugins(spec, checkpointer);
    return new RunLoop(spec, checkpointer, options, undefined, null);
  }

  async run(input: unknown): Promise<RunResult> {
    try {
      if (input instanceof Seed) await this.applySeed(input.values);
      else if (input instanceof Command) await this.applyCommand(input as Command);
      else if (input !== null && input !== undefined) await this.applyInput(input);
      else await this.continueThread();
      return await this.loop();
    } finally {
      await this.flush();
    }
  }

  /** `invoke(null)`: go on from the head (approving static pauses), or replay from an older checkpoint. */
  private async continueThread(): Promise<void> {
    if (this.checkpointId === null) throw new ThreadNotFoundError(this.options.threadId);
    if (this.branch) return this.fork();
    await this.approveStaticInterrupts();
    this.emitResumeValues();
  }

  /** A resumed stream starts with the state it resumes from (finished tasks' writes included). */
  private emitResumeValues(): void {
    if (!this.wants("values")) return;
    const finished = finishedWrites(this.next, this.pending);
    const values = finished.length === 0 ? this.channels.values() : this.valuesWith(finished);
    this.emit(() => ({ mode: "values", data: values }));
  }

  /**
   * A Command as input: its update and goto are applied as an edit (the
   * tasks already planned stay planned, with their progress; START's edges
   * do not fire again), then its resume answers the pending interrupts.
   * `resume: undefined` is an answer like any other.
   */
  private async applyCommand(command: Command): Promise<void> {
    const resuming = Object.hasOwn(command, "resume");
    const editing = command.update !== undefined || command.goto !== undefined;
    if (!editing && this.checkpointId === null)
      throw new ThreadNotFoundError(this.options.threadId);
    if (resuming && this.branch)
      // Checked before anything is written: a fork starts with no pending interrupt to answer.
      throw new InvalidResumeError(
        "A resume answers the head's pending interrupts; an older checkpoint starts a branch, which has none. Replay it with invoke(null, { checkpointId }) first.",
        [],
      );
    const forked = this.branch && this.checkpointId !== null;
    if (forked) await this.fork();
    if (editing) {
      const writes = directWrites(this.spec, "__input__", "__command__", command);
      await this.edit(writes, this.next.length > 0 ? "update" : "input");
    }
    if (resuming) await this.resume(command.resume);
    else if (!editing) await this.approveStaticInterrupts();
    if (!editing && !forked) this.emitResumeValues();
  }

  private async loop(): Promise<RunResult> {
    let slice = performance.now();
    for (;;) {
      // A run whose nodes and store never wait on I/O (memory, SQLite) would
      // hold the event loop for its whole length: timers, a worker's
      // heartbeats and cancellation would wait. Give way every few ms of work.
      if (performance.now() - slice >= YIELD_EVERY_MS) {
        await new Promise((resolve) => setImmediate(resolve));
        slice = performance.now();
      }
      if (
        this.next.length === 0 ||
        this.options.signal.aborted ||
        this.options.stop?.aborted === true
      )
        break;
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
      // A superstep of synchronous nodes is itself synchronous: awaited only when it is not.
      const running = this.superstep();
      const superstep = running instanceof Promise ? await running : running;
      // A failure is reported first, as LangGraph does; the interrupts of its
      // siblings are saved all the same, and wait for their answers.
      // Rethrown as the node threw it, so callers can catch their own error types.
      // eslint-disable-next-line @typescript-eslint/only-throw-error
      if (superstep.error !== undefined) throw superstep.error;
      if (superstep.interrupts.length > 0)
        return this.paused(superstep.interrupts, superstep.writes);
      const committing = this.commit(superstep.writes, "loop");
      if (committing !== undefined) await committing;
      const after = [...new Set(ran.filter((node) => interruptAfter.has(node)))];
      if (after.length > 0)
        return this.pause(
          after.map((n) => staticInterrupt(`after:${n}`, n, "after", this.options)),
        );
    }
    return this.result([]);
  }

  /**
   * Runs the planned tasks that have not finished yet, concurrently. A lone
   * task (every step of a chain) is run by itself, without Promise.all or a
   * closure per task, and if its node returned a plain value, the superstep
   * is over without a promise.
   */
  private superstep(): Superstep | Promise<Superstep> {
    const step = this.step + 1;
    this.options.telemetry?.superstep(step, this.next.length);
    const state = this.channels.values();
    const results: TaskResults = { writes: new Map(), interrupts: new Map(), error: undefined };
    if (this.next.length === 1) {
      const running = this.runPlanned(this.next[0]!, step, state, results);
      return running === undefined
        ? this.collect(results)
        : running.then(() => this.collect(results));
    }
    return Promise.all(
      this.next.map(async (task) => this.runPlanned(task, step, state, results)),
    ).then(() => this.collect(results));
  }

  /** Writes (and interrupts) in plan order, whatever order the tasks finished in. */
  private collect(results: TaskResults): Superstep {
    if (this.next.length === 1) {
      const id = this.next[0]!.id;
      return {
        writes: results.writes.get(id) ?? [],
        interrupts: [...(results.interrupts.get(id) ?? [])],
        error: results.error,
      };
    }
    return {
      writes: this.next.flatMap((task) => results.writes.get(task.id) ?? []),
      interrupts: this.next.flatMap((task) => results.interrupts.get(task.id) ?? []),
      error: results.error,
    };
  }

  /** Runs one planned task (unless it finished before a crash) and records its outcome. */
  private runPlanned(
    task: PlannedTask,
    step: number,
    state: Record<string, unknown>,
    results: TaskResults,
  ): Promise<void> | undefined {
    const earlier = this.pending.length === 0 ? this.pending : pendingOf(task.id, this.pending);
    if (taskIsDone(earlier)) {
      // Finished before a crash, an interrupt or an edit: its saved writes stand for it.
      const writes = taskWritesFrom(earlier);
      results.writes.set(task.id, writes);
      if (this.wants("updates"))
        this.emit(() => ({
          mode: "updates",
          data: {
            [task.node]: updateFromWrites(writes, this.spec.stateKeys),
            __metadata__: { cached: true },
          },
        }));
      return;
    }
    // Still waiting for an answer (a sibling's may have come): it stays paused.
    const waiting = earlier.length === 0 ? earlier : openInterruptsOf(earlier);
    if (waiting.length > 0) {
      results.interrupts.set(task.id, waiting as Interrupt[]);
      return;
    }
    const base = { id: task.id, name: task.node, step };
    const input = task.send ? task.send.payload : state;
    if (this.wants("tasks"))
      this.emit(() => ({ mode: "tasks", data: { event: "start", ...base, input } }));
    if (this.wants("debug"))
      this.emit(() => ({ mode: "debug", data: debugTask(task, step, input) }));
    const streamsMessages = this.wants("messages");
    const outcome = runTask({
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
      streamMessage: streamsMessages ? messageStream(task, step, this.options) : ignoreChunk,
      streamsMessages,
      runtime: this.runtime,
      // A task an edit carried over keeps the keys of the checkpoint it was planned in.
      checkpointId: originOf(earlier) ?? this.checkpointId!,
      journal: new TaskJournal(
        task.id,
        earlier,
        (writes) => this.savePending(writes),
        async () => this.stored,
      ),
      concurrent: this.next.length > 1,
    });
    return outcome instanceof Promise
      ? outcome.then((settled) => this.settle(task, step, base, settled, results))
      : this.settle(task, step, base, outcome, results);
  }

  /**
   * What a task's outcome leaves behind: its writes and events, or its
   * interrupts, or its failure. Synchronous for a lone task that finished
   * and has no router (every step of a chain).
   */
  private settle(
    task: PlannedTask,
    step: number,
    base: TaskEventBase,
    outcome: TaskOutcome,
    results: TaskResults,
  ): Promise<void> | undefined {
    if (outcome.kind === "interrupted") return this.interrupted(task, step, base, outcome, results);
    if (
      outcome.kind === "done" &&
      isParentCommand(outcome.result) &&
      this.options.namespace !== ""
    ) {
      // Handed to the parent graph's task: this superstep is not committed here.
      results.error ??= new ParentCommand(outcome.result);
      return undefined;
    }
    if (outcome.kind === "failed") return this.failed(task, step, base, outcome.error, results);
    // A router may be async, and a task with siblings saves its writes before it is done.
    if (this.spec.branches.has(task.node) || this.next.length > 1)
      return this.finished(task, step, base, outcome.result, results);
    try {
      const writes = directWrites(this.spec, task.id, task.node, outcome.result);
      results.writes.set(task.id, writes);
      this.emitDone(task, step, base, outcome.result, writes);
      return undefined;
    } catch (failure) {
      return this.failed(task, step, base, failure, results);
    }
  }

  private async interrupted(
    task: PlannedTask,
    step: number,
    base: TaskEventBase,
    outcome: { readonly interrupts: readonly Interrupt[] },
    results: TaskResults,
  ): Promise<void> {
    results.interrupts.set(task.id, outcome.interrupts);
    await this.savePending([statusWrite(task.id, INTERRUPT_CHANNEL, outcome.interrupts)]);
    this.emitDebugResult(task, step, { interrupts: outcome.interrupts });
    if (this.wants("tasks"))
      this.emit(() => ({
        mode: "tasks",
        data: { event: "end", ...base, interrupts: outcome.interrupts },
      }));
  }

  /** A finished task with a router or with siblings: its writes, saved first if it has siblings. */
  private async finished(
    task: PlannedTask,
    step: number,
    base: TaskEventBase,
    result: unknown,
    results: TaskResults,
  ): Promise<void> {
    try {
      // Only routers can be async: a node without conditional edges needs no await here.
      const writes = this.spec.branches.has(task.node)
        ? await writesOf(this.spec, this.channels, task.id, task.node, result)
        : directWrites(this.spec, task.id, task.node, result);
      results.writes.set(task.id, writes);
      if (this.next.length > 1) await this.savePending(doneWrites(task.id, this.persisted(writes)));
      this.emitDone(task, step, base, result, writes);
    } catch (failure) {
      await this.failed(task, step, base, failure, results);
    }
  }

  /** start → update → result, as LangGraph orders them. */
  private emitDone(
    task: PlannedTask,
    step: number,
    base: TaskEventBase,
    result: unknown,
    writes: ChannelWrite[],
  ): void {
    if (this.wants("updates"))
      this.emit(() => ({ mode: "updates", data: { [task.node]: updateOf(result) } }));
    if (this.wants("tasks"))
      this.emit(() => ({ mode: "tasks", data: { event: "end", ...base, result } }));
    this.emitDebugResult(task, step, { writes, stateKeys: this.spec.stateKeys });
  }

  private async failed(
    task: PlannedTask,
    step: number,
    base: TaskEventBase,
    failure: unknown,
    results: TaskResults,
  ): Promise<void> {
    results.error ??= failure;
    const serialized = serializeError(failure);
    await this.savePending([
      { taskId: task.id, idx: SLOT.error, channel: ERROR_CHANNEL, value: serialized },
    ]);
    if (this.wants("tasks"))
      this.emit(() => ({ mode: "tasks", data: { event: "end", ...base, error: serialized } }));
    this.emitDebugResult(task, step, { error: serialized });
  }

  private emitDebugResult(
    task: PlannedTask,
    step: number,
    outcome: Parameters<typeof debugTaskResult>[2],
  ): void {
    if (this.wants("debug"))
      this.emit(() => ({ mode: "debug", data: debugTaskResult(task, step, outcome) }));
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
    await this.commit(writes, "input", { forceSnapshot: true });
    this.inputSaved = true;
  }

  private async applyInput(input: unknown): Promise<void> {
    // Conditional edges from START may be async; a graph without them needs no await here.
    const writes = this.spec.branches.has(START)
      ? await writesOf(this.spec, this.channels, "__input__", START, input)
      : directWrites(this.spec, "__input__", START, input);
    this.next = [];
    await this.commit(writes, "input");
    this.inputSaved = true;
  }

  /** A static pause (interruptBefore / interruptAfter). */
  private async pause(interrupts: Interrupt[]): Promise<RunResult> {
    if (!this.options.persistent)
      throw new CheckpointerRequiredError(
        `interrupt${interrupts[0]!.kind === "before" ? "Before" : "After"}`,
      );
    await this.savePending(interrupts.map((i) => statusWrite(i.taskId, INTERRUPT_CHANNEL, [i])));
    return this.paused(interrupts);
  }

  /**
   * The run stops for answers. Its values include what the superstep's
   * finished tasks wrote; the streams get `{ __interrupt__: [...] }` (empty
   * for a static pause, as LangGraph streams it).
   */
  private paused(
    interrupts: readonly Interrupt[],
    finished: readonly ChannelWrite[] = [],
  ): RunResult {
    const values = finished.length === 0 ? this.channels.values() : this.valuesWith(finished);
    const event = { __interrupt__: interrupts.filter((i) => i.kind === "dynamic") };
    if (this.wants("updates")) this.emit(() => ({ mode: "updates", data: event }));
    if (this.wants("values")) this.emit(() => ({ mode: "values", data: event }));
    return { values, interrupts };
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
}

function runtimeOf(checkpointer: Checkpointer, options: RunOptions): TaskRuntime {
  return {
    checkpointer,
    persistent: options.persistent,
    recursionLimit: options.recursionLimit,
    durability: options.durability,
    emit: options.emit,
    modes: options.modes,
    telemetry: options.telemetry,
  };
}

/** The stores whose serializer has each spec's channel plug-ins already: a run adds none twice. */
const pluginsAdded = new WeakMap<GraphSpec, WeakSet<object>>();

/**
 * Adds the serializer plug-ins the graph's channels declare (a `messages()`
 * channel brings LangChain's) to the store's serializer, so that a store
 * made without them can hold the graph's values. A store that does not
 * expose its serializer is left as it is.
 */
export function addSerializerPlugins(spec: GraphSpec, checkpointer: Checkpointer): void {
  const serializer = checkpointer.serializer;
  if (serializer?.use === undefined) return;
  let done = pluginsAdded.get(spec);
  if (done?.has(serializer) === true) return;
  for (const channel of spec.channels.values())
    for (const plugin of channel.serializerPlugins ?? []) serializer.use(plugin);
  if (done === undefined) pluginsAdded.set(spec, (done = new WeakSet()));
  done.add(serializer);
}
