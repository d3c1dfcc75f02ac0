import {
  SpanKind,
  context,
  trace,
  type Attributes,
  type Context,
  type Span,
  type Tracer,
} from "@opentelemetry/api";
import type { CheckpointHeader, Checkpointer, LoadedCheckpoint } from "@waypoint/checkpoint";
import type { GraphIdentity } from "../graph/graph-identity.js";
import { activeInstruments, type Instruments } from "./instruments.js";
import { activeTracer } from "./providers.js";
import { failSpan, putBytes, settle } from "./span-helpers.js";
import { CheckpointSpans } from "./checkpoint-spans.js";
import { TRACEPARENT_KEY, formatTraceparent, parseTraceparent } from "./traceparent.js";

/** What a run's telemetry is told when the run starts. */
export interface RunStart {
  readonly graph: GraphIdentity;
  readonly threadId: string;
  /** A worker's run (`metadata.runId`), if the invocation is one. */
  readonly runId: string | undefined;
  /** The run goes on from the thread's head (input null or a Command), rather than a new input. */
  readonly resumed: boolean;
  /** The store as the graph holds it (not a fenced view of it): names the backend. */
  readonly checkpointer: Checkpointer;
}

/**
 * Whether an OpenTelemetry SDK (a tracer or a meter provider) is registered:
 * the check each invoke makes before it makes anything else for telemetry.
 * Exported (through `@waypoint/core/testing`) for the workspace's benchmark.
 *
 * @internal
 */
export function telemetryRegistered(): boolean {
  return activeTracer() !== undefined || activeInstruments() !== undefined;
}

/**
 * One run's spans and metrics: made at the start of an invoke or stream only
 * when an OpenTelemetry SDK is registered (a tracer provider, a meter
 * provider or both), so that the runtime's hooks are one `undefined` check
 * each when none is. Spans nest run → superstep → task attempt → effect,
 * with checkpoint reads and writes under the run or its superstep; parents
 * are passed explicitly, and node and effect calls also run in their span's
 * context, so that spans made inside them (a tool's, a model's) nest too.
 */
export class RunTelemetry {
  /** The W3C trace context of the run's span, stored in every checkpoint's metadata. */
  readonly traceparent: string | undefined;
  private readonly context: Context;
  private readonly store: CheckpointSpans;
  private readonly graphName: string;
  private superstepSpan: Span | undefined;
  private superstepContext: Context;
  private superstepStep = Number.NaN;

  private constructor(
    private readonly tracer: Tracer | undefined,
    private readonly instruments: Instruments | undefined,
    private readonly start: RunStart,
    /** Tells an attempt's failure from an interrupt or a hand-over (the runtime's own throws). */
    private readonly classify: (error: unknown) => "interrupt" | "handover" | "error",
    parent: Context,
    /** The run's own span; none for a subgraph, whose supersteps nest under its node's task. */
    private readonly span: Span | undefined,
    /** "" for the root graph; a subgraph's namespace. */
    private readonly namespace: string,
  ) {
    this.store = new CheckpointSpans(tracer, instruments, start.checkpointer);
    this.graphName = start.graph.name;
    this.context = span === undefined ? parent : trace.setSpan(parent, span);
    this.superstepContext = this.context;
    const spanContext = span?.spanContext();
    this.traceparent =
      spanContext !== undefined && trace.isSpanContextValid(spanContext)
        ? formatTraceparent(spanContext)
        : undefined;
  }

  /** The run's telemetry, or undefined (costing nothing more) when no SDK is registered. */
  static begin(
    start: RunStart,
    classify: (error: unknown) => "interrupt" | "handover" | "error",
  ): RunTelemetry | undefined {
    const tracer = activeTracer();
    const instruments = activeInstruments();
    // With no SDK, this check is all a run pays (`telemetryRegistered`, measured by the bench).
    if (tracer === undefined && instruments === undefined) return undefined;
    const parent = context.active();
    const span = tracer?.startSpan(
      `invoke_workflow ${start.graph.name}`,
      {
        kind: SpanKind.INTERNAL,
        attributes: {
          "gen_ai.operation.name": "invoke_workflow",
          "gen_ai.conversation.id": start.threadId,
          "waypoint.graph.name": start.graph.name,
          "waypoint.graph.version": String(start.graph.version),
          "waypoint.resumed": start.resumed,
          ...(start.runId !== undefined ? { "waypoint.run.id": start.runId } : {}),
        },
      },
      parent,
    );
    return new RunTelemetry(tracer, instruments, start, classify, parent, span, "");
  }

  /**
   * A subgraph's telemetry (a subgraph node, or a graph invoked inside a
   * node): its supersteps nest under the node's task span, its checkpoints
   * are measured as the run's. Called inside that node.
   */
  nested(graph: GraphIdentity, namespace: string): RunTelemetry {
    const active = context.active();
    const parent = trace.getSpan(active) !== undefined ? active : this.superstepContext;
    return new RunTelemetry(
      this.tracer,
      this.instruments,
      { ...this.start, graph, resumed: false },
      this.classify,
      parent,
      undefined,
      namespace,
    );
  }

  /** Checkpoint metadata that carries the run's trace context (the user's keys first). */
  metadataWith<M extends object>(metadata: M | undefined): M | undefined {
    if (this.traceparent === undefined) return metadata;
    return { ...metadata, [TRACEPARENT_KEY]: this.traceparent } as M;
  }

  /** Runs the whole invocation in the run span's context, and ends the span with its outcome. */
  run<T extends { readonly interrupts: readonly unknown[] }>(work: () => Promise<T>): Promise<T> {
    return context.with(this.context, work).then(
      (result) => {
        if (result.interrupts.length > 0)
          this.span?.setAttribute("waypoint.interrupts", result.interrupts.length);
        this.end(undefined);
        return result;
      },
      (error: unknown) => {
        this.end(error);
        throw error;
      },
    );
  }

  private end(thrown: unknown): void {
    // A subgraph's Command to its parent ends its run by a throw, and is no failure.
    const error = thrown !== undefined && this.classify(thrown) === "error" ? thrown : undefined;
    this.endSuperstep(error);
    if (this.span === undefined) return;
    if (error !== undefined) failSpan(this.span, error);
    this.span.end();
  }

  /** A superstep starts (the one before it ends now, if its checkpoint did not end it). */
  superstep(step: number, tasks: number): void {
    this.endSuperstep(undefined);
    this.instruments?.supersteps.add(1, { "waypoint.graph.name": this.graphName });
    if (this.tracer === undefined) return;
    const span = this.tracer.startSpan(
      "waypoint.superstep",
      {
        attributes: {
          "waypoint.step": step,
          "waypoint.task.count": tasks,
          ...(this.namespace !== "" ? { "waypoint.namespace": this.namespace } : {}),
        },
      },
      this.context,
    );
    this.superstepSpan = span;
    this.superstepStep = step;
    this.superstepContext = trace.setSpan(this.context, span);
  }

  private endSuperstep(error: unknown): void {
    const span = this.superstepSpan;
    if (span === undefined) return;
    this.superstepSpan = undefined;
    this.superstepContext = this.context;
    if (error !== undefined) failSpan(span, error);
    span.end();
  }

  /**
   * One attempt of a task: a span named after the node, in whose context the
   * node runs. `call` returns a value, a promise or throws, and so does this.
   */
  attempt(
    task: { readonly id: string; readonly node: string },
    namespace: string,
    attempt: number,
    call: () => unknown,
  ): unknown {
    if (this.tracer === undefined) return call();
    const attributes: Attributes = {
      "waypoint.node": task.node,
      "waypoint.task.id": task.id,
      "waypoint.task.attempt": attempt,
      "waypoint.task.retry": attempt > 1,
      ...(namespace !== "" ? { "waypoint.namespace": namespace } : {}),
    };
    const span = this.tracer.startSpan(task.node, { attributes }, this.superstepContext);
    return settle(
      () => context.with(trace.setSpan(this.superstepContext, span), call),
      (error) => this.endAttempt(span, error),
    );
  }

  private endAttempt(span: Span, error: unknown): void {
    const kind = error === undefined ? undefined : this.classify(error);
    span.setAttribute("waypoint.task.interrupted", kind === "interrupt");
    if (kind === "error") failSpan(span, error);
    span.end();
  }

  /**
   * A recorded call (`ctx.effect`, a Functional API task) that runs: a span
   * in whose context it runs. Returns what `call` returns.
   */
  effect<T>(
    name: string,
    kind: "effect" | "task",
    idempotencyKey: string,
    call: () => Promise<T>,
  ): Promise<T> {
    this.instruments?.effects.add(1, { "waypoint.effect.outcome": "executed" });
    if (this.tracer === undefined) return call();
    const parent = this.within();
    const span = this.tracer.startSpan(
      `waypoint.effect ${name}`,
      { attributes: effectAttributes(name, kind, idempotencyKey, "executed") },
      parent,
    );
    return settle(
      () => context.with(trace.setSpan(parent, span), call),
      (error) => {
        // A tool that asks for approval pauses inside its effect: no failure.
        if (error !== undefined && this.classify(error) === "error") failSpan(span, error);
        span.end();
      },
    ) as Promise<T>;
  }

  /** The span current in the node (its attempt's, or an effect's), else the superstep's. */
  private within(): Context {
    const active = context.active();
    return trace.getSpan(active) !== undefined ? active : this.superstepContext;
  }

  /** A recorded call answered from its record: a span of no length, marked replayed. */
  effectReplayed(name: string, kind: "effect" | "task", idempotencyKey: string): void {
    this.instruments?.effects.add(1, { "waypoint.effect.outcome": "replayed" });
    this.tracer
      ?.startSpan(
        `waypoint.effect ${name}`,
        { attributes: effectAttributes(name, kind, idempotencyKey, "replayed") },
        this.within(),
      )
      .end();
  }

  /** The load a run starts with; a resumed run's span links to the trace that wrote the checkpoint. */
  load(load: () => Promise<LoadedCheckpoint | undefined>): Promise<LoadedCheckpoint | undefined> {
    return this.store.trace("load", load, this.context, {}, (loaded) => {
      if (loaded !== undefined && this.start.resumed) this.linkTo(loaded.checkpoint.metadata);
      const chain = loaded?.checkpoint.chain;
      return {
        bytes: chain === undefined ? 0 : chain.snapshotBytes + chain.deltaBytes,
        attributes: {
          "waypoint.checkpoint.found": loaded !== undefined,
          ...(loaded !== undefined ? { "waypoint.checkpoint.deltas": loaded.deltas.length } : {}),
        },
      };
    });
  }

  /** Links the run's span to the run that wrote a checkpoint it goes on from. */
  private linkTo(metadata: Readonly<Record<string, unknown>>): void {
    const written = parseTraceparent(metadata[TRACEPARENT_KEY]);
    if (written === undefined || this.span === undefined) return;
    this.span.addLink({ context: written, attributes: { "waypoint.link.reason": "resumed" } });
  }

  /** A checkpoint put; a superstep's own put ends the superstep's span. */
  put(
    put: () => Promise<CheckpointHeader>,
    step: number,
    source: unknown,
    parent: CheckpointHeader | null,
  ): Promise<CheckpointHeader> {
    const ofSuperstep = this.superstepSpan !== undefined && step === this.superstepStep;
    const attributes = {
      "waypoint.step": step,
      ...(typeof source === "string" ? { "waypoint.checkpoint.source": source } : {}),
    };
    const within = ofSuperstep ? this.superstepContext : this.context;
    const traced = this.store.trace("put", put, within, attributes, (header) => ({
      bytes: putBytes(header, parent),
      attributes: {
        "waypoint.checkpoint.id": header.id,
        "waypoint.checkpoint.snapshot": header.chain.baseId === header.id,
      },
    }));
    if (!ofSuperstep) return traced;
    return traced.then((header) => {
      // Unless the next superstep started meanwhile ("async" durability), which ended it.
      if (step === this.superstepStep) this.endSuperstep(undefined);
      return header;
    });
  }

  /** Pending writes saved against the current checkpoint (a task's writes, an effect's result). */
  putWrites(put: () => Promise<void>, count: number): Promise<void> {
    // Under the task or effect that saves them; a task's writes saved once it ended, under its superstep.
    const active = context.active();
    const current = trace.getSpan(active);
    const within = current !== undefined && current !== this.span ? active : this.superstepContext;
    return this.store.trace(
      "put_writes",
      put,
      within,
      { "waypoint.checkpoint.writes": count },
      () => ({}),
    );
  }
}

function effectAttributes(
  name: string,
  kind: "effect" | "task",
  idempotencyKey: string,
  outcome: "executed" | "replayed",
): Attributes {
  return {
    "waypoint.effect.name": name,
    "waypoint.effect.kind": kind,
    "waypoint.idempotency_key": idempotencyKey,
    "waypoint.effect.outcome": outcome,
    "waypoint.effect.replayed": outcome === "replayed",
  };
}
