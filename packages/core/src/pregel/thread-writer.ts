import {
  InvalidArgumentError,
  RESUME_CHANNEL,
  ThreadNotFoundError,
  newCheckpointId,
  type ChannelWrite,
  type Checkpointer,
  type CheckpointHeader,
  type CheckpointMetadata,
  type JsonValue,
  type LoadedCheckpoint,
  type PendingWrite,
  type PlannedTask,
  type PutRequest,
} from "@waypoint/checkpoint";
import { COPY, END, START } from "../constants.js";
import type { GraphSpec } from "../graph/graph-spec.js";
import { storedIdentity } from "../graph/graph-identity.js";
import { faultPoint, faultsArmed } from "../faults.js";
import { type AppendMarker, appendMarker } from "./append-marks.js";
import { debugCheckpoint } from "./debug-events.js";
import { ChannelSet } from "./channel-set.js";
import { carriedPending, finishedWrites, supersededBy } from "./edits.js";
import { directWrites, writesOf } from "./node-writes.js";
import { plan } from "./planner.js";
import { carried, slotKey, staticInterrupt, statusWrite } from "./run-helpers.js";
import { interruptSlots } from "./pending.js";
import type { StreamEvent, StreamMode } from "./stream-events.js";
import type { RunTelemetry } from "../telemetry/run-telemetry.js";

/**
 * - `sync` (default): a superstep ends when its checkpoint is durable.
 * - `async`: the checkpoint is written while the next superstep runs.
 * - `exit`: one checkpoint when the run stops (finished, interrupted or failed).
 */
export type Durability = "sync" | "async" | "exit";

export interface RunOptions {
  readonly threadId: string;
  /** False for a root graph compiled without a checkpointer: it cannot pause. */
  readonly persistent: boolean;
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
  /** Spans and metrics, when an OpenTelemetry SDK is registered (telemetry/run-telemetry.ts). */
  readonly telemetry?: RunTelemetry | undefined;
}

/** One edit of `updateState` / `bulkUpdateState`: `values` as if `asNode` had returned them. */
export interface StateUpdate {
  readonly values: unknown;
  /** A node, START, END, or COPY; none for a plain edit that keeps the planned tasks. */
  readonly asNode?: string;
}

interface CommitOptions {
  /** Tasks planned before an edit that stay planned, beside what the planner adds. */
  readonly carry?: readonly PlannedTask[];
  /** Carried tasks keep their ids and progress (an edit at the head), rather than new ones (a branch). */
  readonly keepIds?: boolean;
  /** Pending writes the new checkpoint is born with, stored atomically with it. */
  readonly pendingWrites?: PendingWrite[];
  readonly forceSnapshot?: boolean;
  /** False for a fork: the state is copied as it is, and nothing is planned anew. */
  readonly apply?: boolean;
  /**
   * The edit answers a pause before a node: the tasks it plans are approved,
   * so that `invoke(null)` runs them rather than pause again.
   */
  readonly approve?: boolean;
  /** Added to the checkpoint's metadata. */
  readonly metadata?: Readonly<Record<string, JsonValue>>;
}

type CommitSource = "input" | "loop" | "update" | "fork" | "migration";

const ignore = () => undefined;

/** A superstep's commit: nothing carried, nothing pending. Shared, so that it costs no object. */
const PLAIN_COMMIT: CommitOptions = Object.freeze({});

/**
 * A thread as one run holds it: its channels, its plan and pending writes,
 * and the checkpoints it writes (`commit`), including the edits of
 * updateState (`update`) and forks. The run loop builds on it.
 */
export abstract class ThreadWriter {
  protected readonly channels: ChannelSet;
  /** The current checkpoint (written or, with "exit", still in memory). */
  protected checkpointId: string | null;
  protected step: number;
  protected versions: Record<string, number>;
  protected versionsSeen: Record<string, Record<string, number>>;
  protected next: readonly PlannedTask[];
  protected pending: PendingWrite[];
  protected inputStep: number;
  /**
   * The last checkpoint stored (the parent of the next one): its header, or
   * with "async" the put still under way. Kept as a plain value when known, so
   * that a "sync" put does not wait on an already settled promise.
   */
  protected stored: CheckpointHeader | null | Promise<CheckpointHeader | null>;
  protected storedId: string | null;
  protected unsavedWrites: ChannelWrite[] = [];
  /** Whether this run's input checkpoint is saved (a conflict before it is safe to retry). */
  protected inputSaved = false;
  protected unsavedMetadata: CheckpointMetadata | null = null;
  /**
   * Loaded from an older checkpoint than the head (time travel): whatever
   * runs from it starts a branch of its own, and its pending writes belong
   * to the old branch.
   */
  protected branch: boolean;
  /**
   * The head was written by another shape of the graph (or none): the next
   * checkpoint records this graph's shape beside its identity, so that a
   * later version can tell what changed.
   */
  private shapeDue: boolean;
  /** Marks the reducer keys' appends in the stored writes, for loads (append-marks.ts). */
  private readonly marker: AppendMarker | undefined;

  protected constructor(
    protected readonly spec: GraphSpec,
    protected readonly checkpointer: Checkpointer,
    protected options: RunOptions,
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
    // The head's own id is the head; any other is a branch, whose tasks run
    // afresh: the old checkpoint's pending writes belong to the old branch.
    this.branch =
      checkpoint !== undefined && options.checkpointId !== undefined && checkpoint.id !== headId;
    this.pending = this.branch ? [] : [...(loaded?.pendingWrites ?? [])];
    this.inputStep = Number(checkpoint?.metadata.inputStep ?? checkpoint?.step ?? -1);
    this.stored = checkpoint ?? null;
    this.storedId = headId;
    this.shapeDue =
      storedIdentity(checkpoint?.metadata ?? {})?.fingerprint !== spec.deploy.identity.fingerprint;
    this.marker = appendMarker(spec.channels);
  }

  /** Writes to untracked channels are applied but never stored. */
  protected persisted(writes: ChannelWrite[]): ChannelWrite[] {
    return this.spec.untracked.size === 0
      ? writes
      : writes.filter((w) => !this.spec.untracked.has(w.channel));
  }

  protected wants(mode: StreamMode): boolean {
    return this.options.modes.has(mode);
  }

  protected emit(event: () => StreamEvent): void {
    this.options.emit(event());
  }

  /**
   * updateState / bulkUpdateState: one superstep of edits, one new checkpoint.
   * - Without `asNode`, a plain edit of the state: the superstep in progress
   *   stays as it was (finished tasks' work, pending interrupts, recorded
   *   effects), and a pause before a node is approved.
   * - With `asNode` (a node, START or END), as if those nodes had returned
   *   the values: finished tasks' work is kept, and their edges with the
   *   nodes' edges alone decide what runs next. END plans nothing.
   * - `asNode: COPY`: a fork of the checkpoint (see `fork`).
   * From an older checkpoint, the edit starts a branch. Returns the new
   * checkpoint's id.
   */
  async update(updates: readonly StateUpdate[]): Promise<string> {
    try {
      const [first] = updates;
      if (first === undefined)
        throw new InvalidArgumentError("updates", "give at least one { values, asNode }");
      if (updates.some((u) => u.asNode === COPY)) {
        if (updates.length > 1 || (first.values !== null && first.values !== undefined))
          throw new InvalidArgumentError(
            "asNode",
            "COPY forks a checkpoint as it is: it takes no values and no other update",
          );
        if (this.checkpointId === null) throw new ThreadNotFoundError(this.options.threadId);
        await this.fork();
      } else if (first.asNode === undefined && updates.length === 1) {
        await this.edit(
          directWrites(this.spec, "__update__", "__update__", first.values),
          "update",
        );
      } else {
        await this.replan(updates);
      }
      return this.checkpointId!;
    } finally {
      await this.flush();
    }
  }

  /** Edits as nodes: their edges, and those of tasks that already finished, decide what runs next. */
  protected async replan(updates: readonly StateUpdate[]): Promise<void> {
    const known = [...this.spec.nodes.keys()];
    const writes: ChannelWrite[] = [];
    for (const { values, asNode } of updates) {
      if (asNode === undefined)
        throw new InvalidArgumentError(
          "asNode",
          "every update of a superstep with several updates needs asNode",
        );
      if (asNode !== START && asNode !== END && !this.spec.nodes.has(asNode))
        throw new InvalidArgumentError(
          "asNode",
          `"${asNode}" is not a node of this graph (nodes: ${known.join(", ")}; or START, END, COPY)`,
          { asNode },
        );
      writes.push(...(await writesOf(this.spec, this.channels, "__update__", asNode, values)));
    }
    // An edit at a pause before a node is the human's answer to it.
    const approve =
      !this.branch &&
      interruptSlots(this.pending).some((slot) => slot.interrupts.some((i) => i.kind === "before"));
    // Work that finished in the superstep the edit interrupts is kept, unless the edit replaces it.
    const superseded = supersededBy(this.spec, writes);
    // With END alone, nothing runs next: not even what finished tasks' edges would plan.
    const ending = updates.every((u) => u.asNode === END);
    const finished = this.branch
      ? []
      : finishedWrites(this.next, this.pending).filter(
          (w) => !superseded.has(w.channel) && (!ending || this.spec.stateKeys.includes(w.channel)),
        );
    await this.commit([...finished, ...writes], "update", { approve });
  }

  /**
   * Applies `writes` in a new checkpoint that keeps the planned tasks: at
   * the head with their ids and saved progress (so nothing finished or
   * recorded runs again, and pending interrupts stay answerable); on a
   * branch with new ids, to run afresh.
   */
  protected async edit(writes: ChannelWrite[], source: "input" | "update"): Promise<void> {
    if (this.branch || this.checkpointId === null) {
      await this.commit(writes, source, { carry: this.next });
      return;
    }
    const pendingWrites = carriedPending(
      this.next,
      this.pending,
      this.checkpointId,
      supersededBy(this.spec, writes),
    );
    await this.commit(writes, source, { carry: this.next, keepIds: true, pendingWrites });
  }

  /**
   * A branch of its own from the loaded checkpoint (time travel, or
   * `asNode: COPY`): a new head with the same state and plan, whose tasks get
   * new ids, so they run afresh with idempotency keys of their own.
   */
  protected async fork(): Promise<void> {
    await this.commit([], "fork", { carry: this.next, apply: false, forceSnapshot: true });
  }

  /**
   * Saves a thread that was renamed or migrated on load (see deploy.ts) as a
   * checkpoint of its own, a snapshot, before anything runs: its planned
   * tasks keep their ids, finished work, recorded effects and interrupts. One
   * put, so a crash leaves the old head or this one. A branch (time travel)
   * needs none: its fork is written from the migrated state.
   */
  async saveMigration(from: JsonValue): Promise<void> {
    if (this.branch || this.checkpointId === null) return;
    const pendingWrites = carriedPending(this.next, this.pending, this.checkpointId, new Set());
    try {
      await this.commit([], "migration", {
        carry: this.next,
        keepIds: true,
        pendingWrites,
        apply: false,
        forceSnapshot: true,
        metadata: { migratedFrom: from },
      });
    } finally {
      await this.flush();
    }
  }

  /**
   * Applies the writes, plans the next superstep, and saves one checkpoint.
   * Returns the put to wait for, if any: one promise per superstep, the
   * store's own (none for "exit", nor for "async" once the previous put is stored).
   */
  protected commit(
    writes: ChannelWrite[],
    source: CommitSource,
    options: CommitOptions = PLAIN_COMMIT,
  ): Promise<void> | undefined {
    const apply = options.apply !== false;
    if (apply) {
      // Node names are looked up only for an error message, so no map is built per commit.
      const nodeOf = (id: string) => this.next.find((task) => task.id === id)?.node ?? id;
      for (const name of this.channels.apply(writes, nodeOf)) {
        this.versions[name] = (this.versions[name] ?? 0) + 1;
      }
    }
    const id = newCheckpointId(this.checkpointId ?? this.storedId);
    const planned = apply
      ? plan({
          nodes: this.spec.plannerNodes,
          channels: this.channels.channels,
          versions: this.versions,
          versionsSeen: this.versionsSeen,
          threadId: this.options.threadId,
          namespace: this.options.namespace,
          checkpointId: id,
        })
      : { tasks: [], versionsSeen: this.versionsSeen };
    this.step += 1;
    if (source === "input") this.inputStep = this.step;
    // A fork or a migration copies a checkpoint: it is no superstep, and does not count towards the limit.
    if (source === "fork" || source === "migration") this.inputStep += 1;
    const parentId = this.checkpointId;
    this.checkpointId = id;
    this.versionsSeen = planned.versionsSeen;
    const carry = options.carry;
    this.next =
      carry === undefined || carry.length === 0
        ? planned.tasks
        : options.keepIds === true
          ? [
              // A node already planned keeps its task (and its progress) rather than run twice.
              ...planned.tasks.filter(
                (p) =>
                  p.send !== undefined ||
                  !carry.some((c) => c.node === p.node && c.send === undefined),
              ),
              ...carry,
            ]
          : [...planned.tasks, ...carried(carry, planned.tasks, id, this.options)];
    this.pending = options.pendingWrites ?? [];
    if (options.approve === true) this.pending = [...this.pending, ...this.approvals()];
    this.branch = false;
    if (faultsArmed()) return this.commitWithFaults(writes, source, options, parentId);
    const metadata = this.metadataOf(source, options);
    // The events follow the put in its own callback: no promise of their own.
    return this.save(writes, options, metadata, () => this.committed(source, metadata, parentId));
  }

  private metadataOf(source: CommitSource, options: CommitOptions): Record<string, JsonValue> {
    const metadata: Record<string, JsonValue> = {
      ...this.options.metadata,
      source,
      step: this.step,
      inputStep: this.inputStep,
      graph: this.spec.deploy.stored,
      ...options.metadata,
    };
    if (this.shapeDue) {
      metadata.graphShape = this.spec.deploy.shape as unknown as JsonValue;
      this.shapeDue = false;
    }
    return metadata;
  }

  /** `commit`'s put, with the fault points a test armed around it. */
  private async commitWithFaults(
    writes: ChannelWrite[],
    source: CommitSource,
    options: CommitOptions,
    parentId: string | null,
  ): Promise<void> {
    await faultPoint("before-commit");
    const metadata = this.metadataOf(source, options);
    await this.save(writes, options, metadata, ignore);
    await faultPoint("after-commit");
    this.committed(source, metadata, parentId);
  }

  /** Puts the new checkpoint, or with "exit" keeps it for `flush`; `then` as in `putCheckpoint`. */
  private save(
    writes: ChannelWrite[],
    options: CommitOptions,
    metadata: Record<string, JsonValue>,
    then: () => void,
  ): Promise<void> | undefined {
    if (this.options.durability === "exit") {
      this.unsavedWrites = this.persisted(writes);
      this.unsavedMetadata = metadata;
      then();
      return undefined;
    }
    const snapshot = options.forceSnapshot === true;
    const stored = this.persisted(writes);
    return this.putCheckpoint(
      this.marker === undefined
        ? stored
        : this.marker.writesFor(stored, (key) => this.channels.channels.get(key)!.get(), snapshot),
      metadata,
      snapshot,
      this.pending,
      then,
    );
  }

  /** The events of a saved checkpoint. */
  private committed(
    source: CommitSource,
    metadata: Record<string, JsonValue>,
    parentId: string | null,
  ): void {
    if (source !== "migration") this.emitValues();
    if (this.wants("debug")) {
      const where = { ...this.options, checkpointId: this.checkpointId!, parentId };
      const values = this.channels.values();
      this.emit(() => ({
        mode: "debug",
        data: debugCheckpoint(where, this.step, values, metadata, this.next),
      }));
    }
  }

  /** RESUME statuses for the planned tasks that would pause before their node. */
  private approvals(): PendingWrite[] {
    return this.next
      .filter((task) => this.options.interruptBefore.has(task.node))
      .map((task) =>
        statusWrite(task.id, RESUME_CHANNEL, [
          staticInterrupt(task.id, task.node, "before", this.options),
        ]),
      );
  }

  protected emitValues(): void {
    if (this.wants("values")) this.emit(() => ({ mode: "values", data: this.channels.values() }));
  }

  /**
   * Puts the checkpoint at `checkpointId`. Returns what the caller waits
   * for, if anything: with "sync" the put itself; with "async" only the
   * previous put, whose header is the parent. `then` runs once that wait is
   * over (at once when there is none), in the put's own callback rather than
   * a promise of its own.
   */
  protected putCheckpoint(
    writes: ChannelWrite[],
    metadata: CheckpointMetadata,
    forceSnapshot: boolean,
    pendingWrites: readonly PendingWrite[] = [],
    then: () => void = ignore,
  ): Promise<void> | undefined {
    // The next put needs its parent's header (its chain), which the previous put returns.
    const stored = this.stored;
    if (stored instanceof Promise)
      return stored.then((parent) =>
        this.put(parent, writes, metadata, forceSnapshot, pendingWrites, then),
      );
    return this.put(stored, writes, metadata, forceSnapshot, pendingWrites, then);
  }

  private put(
    parent: CheckpointHeader | null,
    writes: ChannelWrite[],
    metadata: CheckpointMetadata,
    forceSnapshot: boolean,
    pendingWrites: readonly PendingWrite[],
    then: () => void,
  ): Promise<void> | undefined {
    const request: PutRequest = {
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
      accumulating: this.spec.accumulating,
    };
    // Most puts carry no pending writes: no copy of the request for them.
    const sent = pendingWrites.length === 0 ? request : { ...request, pendingWrites };
    const telemetry = this.options.telemetry;
    // Traced, the put is made inside its span: a store's synchronous part is timed too.
    const header =
      telemetry === undefined
        ? this.checkpointer.put(sent)
        : telemetry.put(() => this.checkpointer.put(sent), this.step, metadata.source, parent);
    this.storedId = this.checkpointId;
    // A put that fails leaves `stored` as it was; the error ends the run.
    if (this.options.durability === "sync")
      return header.then((saved) => {
        this.stored = this.saved(saved);
        then();
      });
    this.stored = header.then((saved) => this.saved(saved));
    then();
    return undefined;
  }

  protected saved(header: CheckpointHeader): CheckpointHeader {
    if (this.wants("checkpoints")) this.emit(() => ({ mode: "checkpoints", data: header }));
    return header;
  }

  /** Waits for writes in flight; with "exit", writes the one checkpoint and its pending writes. */
  protected async flush(): Promise<void> {
    if (this.unsavedMetadata !== null) {
      const metadata = this.unsavedMetadata;
      this.unsavedMetadata = null;
      await this.putCheckpoint(this.unsavedWrites, metadata, true);
    }
    if (this.stored instanceof Promise) await this.stored;
    if (this.options.durability === "exit" && this.pending.length > 0)
      await this.writePending(this.pending);
  }

  /** The state with writes not yet committed applied (as they will be), or as it is if they conflict. */
  protected valuesWith(writes: readonly ChannelWrite[]): Record<string, unknown> {
    try {
      return this.channels.valuesWith(writes);
    } catch {
      return this.channels.values();
    }
  }

  protected async savePending(writes: PendingWrite[]): Promise<void> {
    if (writes.length === 0) return;
    const replaced = new Set(writes.map(slotKey));
    this.pending = [...this.pending.filter((w) => !replaced.has(slotKey(w))), ...writes];
    if (this.options.durability !== "exit") await this.writePending(writes);
  }

  protected async writePending(writes: PendingWrite[]): Promise<void> {
    if (this.stored instanceof Promise) await this.stored; // the checkpoint they belong to must exist first
    const target = {
      threadId: this.options.threadId,
      namespace: this.options.namespace,
      checkpointId: this.checkpointId!,
    };
    const telemetry = this.options.telemetry;
    await (telemetry === undefined
      ? this.checkpointer.putPendingWrites(target, writes)
      : telemetry.putWrites(
          () => this.checkpointer.putPendingWrites(target, writes),
          writes.length,
        ));
  }
}
