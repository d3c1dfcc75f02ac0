/**
 * One thread under test: applies ops to it, then checks every invariant; on a
 * violation throws an error that shows the ops so far, the invariants broken,
 * the state before and after, and what the sink saw.
 */
import type { Checkpointer, CheckpointHeader } from "@waypoint/checkpoint";
import { InjectedFault, armFault, disarmFaults } from "@waypoint/core/testing";
import { chainCheck, postconditions, type OpContext, type Outcome } from "./checks.js";
import type { ChildRunner } from "./child-runner.js";
import { EffectLedger, type Violation } from "./effect-rules.js";
import { GRAPH_INFO, buildGraph, type GraphName, type ModelGraph } from "./graphs.js";
import { describeOp, type Op, type RunOp } from "./ops.js";
import { probeInterrupts, probeNext } from "./probes.js";
import { runInput } from "./protocol.js";
import { resolve, type Action } from "./resolve.js";
import { MemorySink } from "./sink.js";
import { headers, isFinished, logKeys, logOf, recordedKeys, short, summary } from "./snapshot.js";
import { reportCheck } from "./stream-check.js";

const MODES = ["values", "updates", "tasks"] as const;

export interface WorldOptions {
  readonly graph: GraphName;
  readonly store: "memory" | "sqlite";
  readonly checkpointer: Checkpointer;
  readonly threadId: string;
  readonly child?: ChildRunner;
  /** Invariants not to report (FUZZ_SKIP, while the runtime is being fixed). */
  readonly skip?: ReadonlySet<string>;
}

export class World {
  readonly sink = new MemorySink();
  readonly ledger = new EffectLedger();
  readonly graph: ModelGraph;
  readonly trace: string[] = [];
  /** Op kind and outcome, one per op, for FUZZ_STATS. */
  readonly tally: string[] = [];
  private index = 0;
  private scratch = 0;

  constructor(readonly options: WorldOptions) {
    this.graph = buildGraph(options.graph, options.checkpointer, this.sink);
  }

  get threadId(): string {
    return this.options.threadId;
  }

  async apply(op: Op): Promise<void> {
    const index = ++this.index;
    this.sink.op = index;
    const { checkpointer, threadId } = this.options;
    const before = await this.graph.getState(threadId);
    const beforeHistory = await headers(checkpointer, threadId);
    const action = resolve(op, index, before, beforeHistory, GRAPH_INFO[this.options.graph]);
    if (action.skip !== undefined) {
      this.trace.push(`#${index} ${describeOp(op)}: skipped (${action.skip})`);
      this.tally.push(`${op.kind} skipped`);
      return;
    }
    const outcome = await this.execute(op, action);
    const after = await this.graph.getState(threadId);
    this.trace.push(`#${index} ${describeOp(op)}: ${action.text} -> ${showOutcome(outcome)}`);
    const kind =
      op.kind === "update"
        ? `update:${op.mode}${action.branchFrom && op.mode !== "copy" ? "@past" : ""}`
        : op.kind;
    const fired = outcome.fired ? ` ${op.kind !== "update" ? op.fault?.point : ""}` : "";
    this.tally.push(
      `${kind}${op.kind === "replay" && !action.branchFrom ? "@head" : ""} ${outcome.kind}${fired}${action.expectError ? " (refused)" : ""}`,
    );
    const context: OpContext = {
      index,
      action,
      outcome,
      before,
      beforeHistory,
      after,
      history: await headers(checkpointer, threadId),
      stateAt: (checkpointId) => this.graph.getState(threadId, { checkpointId }),
    };
    const violations = await this.check(op, context);
    const skip = this.options.skip;
    const kept = skip ? violations.filter((x) => !skip.has(x.invariant)) : violations;
    if (kept.length > 0) throw new Error(this.report(kept, context));
  }

  private async check(op: Op, c: OpContext): Promise<Violation[]> {
    const out: Violation[] = [];
    const { outcome, action } = c;
    if (outcome.kind === "error" && action.expectError?.(outcome.error) !== true)
      out.push({
        invariant: "op-succeeds",
        detail: `the op failed: ${describeError(outcome.error)}`,
      });
    if (outcome.kind === "ok" && action.expectError !== undefined)
      out.push({
        invariant: "op-succeeds",
        detail: "the op should have been refused (see the pending interrupts before it)",
      });
    if (outcome.kind === "ok" && outcome.fired)
      out.push({
        invariant: "injected-fault-surfaces",
        detail:
          "a fault point threw InjectedFault, yet the run returned as if nothing happened (a process that died there returns nothing)",
      });
    const chain = await chainCheck(c);
    out.push(...chain.violations);
    const fault = op.kind !== "update" && op.fault ? { ...op.fault, fired: outcome.fired } : null;
    out.push(
      ...this.ledger.check({
        op: c.index,
        starter: action.starter,
        switched: chain.switched,
        sourceKeys: chain.sourceKeys,
        deliveries: this.sink.of(c.index),
        allDeliveries: this.sink.deliveries,
        entries: this.sink.entries.filter((e) => e.op === c.index),
        finishedBefore: new Set(c.before?.tasks.filter(isFinished).map((t) => t.id) ?? []),
        waitingBefore: new Set(
          (c.before?.tasks ?? [])
            .filter((t) => t.interrupts.some((i) => i.kind === "dynamic"))
            .filter((t) => !t.interrupts.some((i) => action.answers?.has(i.id)))
            .map((t) => t.id),
        ),
        recordedNow: await recordedKeys(this.options.checkpointer, this.threadId),
        fault,
        headLogKeys: logKeys(logOf(c.after)),
      }),
    );
    out.push(...(await postconditions(c, GRAPH_INFO[this.options.graph])));
    const resuming = op.kind === "resume" || op.kind === "bare" || op.kind === "continue";
    out.push(...reportCheck(c, resuming));
    if (c.after !== undefined) {
      const env = {
        ...this.options,
        graph: this.graph,
        sink: this.sink,
        scratchId: () => this.scratchId(),
      };
      out.push(...(await probeInterrupts(env, c.after)));
      out.push(...(await probeNext(env, c.after)));
    }
    return out;
  }

  private scratchId(): string {
    return `${this.threadId}~probe${++this.scratch}`;
  }

  private async execute(op: Op, action: Action): Promise<Outcome> {
    const { threadId } = this;
    if (action.update !== undefined) {
      const { values, asNode, checkpointId } = action.update;
      try {
        const id = await this.graph.updateState(threadId, values, {
          ...(asNode ? { asNode } : {}),
          ...(checkpointId ? { checkpointId } : {}),
        });
        return { kind: "ok", fired: false, updateId: id };
      } catch (error) {
        return { kind: "error", fired: false, error };
      }
    }
    const run = action.run!;
    const runOp = op as RunOp;
    if (runOp.fault?.how === "kill") return this.inChild(runOp, action);
    let fired = false;
    const point = runOp.fault?.point;
    if (point !== undefined)
      armFault(point, () => {
        fired = true;
        throw new InjectedFault(point);
      });
    const options = { threadId, ...(run.checkpointId ? { checkpointId: run.checkpointId } : {}) };
    try {
      const input = runInput(run.input) as never;
      if (runOp.via === "stream") {
        const items: (readonly [string, unknown])[] = [];
        for await (const item of this.graph.stream(input, { ...options, streamMode: MODES }))
          items.push(item);
        return { kind: "ok", fired, items };
      }
      const result = await this.graph.invoke(input, options);
      return { kind: "ok", fired, result };
    } catch (error) {
      return fired && error instanceof InjectedFault
        ? { kind: "fault", fired }
        : { kind: "error", fired, error };
    } finally {
      disarmFaults();
    }
  }

  private async inChild(op: RunOp, action: Action): Promise<Outcome> {
    const child = this.options.child;
    if (child === undefined) throw new Error("a kill op needs the SQLite child runner");
    const run = action.run!;
    const done = await child.run(
      this.threadId,
      this.options.graph,
      { input: run.input, ...(run.checkpointId ? { checkpointId: run.checkpointId } : {}) },
      op.fault!.point,
    );
    this.sink.ingest(done.sinkLines);
    if (done.killed) return { kind: "killed", fired: true };
    if (done.line === "done") return { kind: "ok", fired: false };
    const [, name = "Error", ...message] = done.line.split(" ");
    const error = Object.assign(new Error(message.join(" ")), { name });
    return { kind: "error", fired: false, error };
  }

  private report(violations: Violation[], c: OpContext): string {
    const keys = (list: { key: string; slot: string; op: number }[]) =>
      list.map((d) => `#${d.op} ${d.slot} ${short(d.key)}`).join(", ");
    return [
      `hitl-model: ${violations.length} invariant(s) broken after op #${c.index}`,
      ...violations.map((x) => `  [${x.invariant}] ${x.detail}`),
      `graph=${this.options.graph} store=${this.options.store} thread=${this.threadId}`,
      "ops:",
      ...this.trace.map((line) => `  ${line}`),
      `state before #${c.index}:\n      ${summary(c.before)}`,
      `state after #${c.index}:\n      ${summary(c.after)}`,
      `history (newest first): ${c.history.map((h: CheckpointHeader) => `${short(h.id)}<-${short(h.parentId)} s${h.step} ${JSON.stringify(h.metadata.source)}`).join(" | ")}`,
      ...(c.outcome.kind === "ok" && c.outcome.items
        ? ["stream items:", ...c.outcome.items.map(([mode, data]) => `  ${mode} ${showItem(data)}`)]
        : []),
      `sink deliveries: ${keys(this.sink.deliveries)}`,
      `recorded keys: ${[...this.ledger.recorded].map(([k, op]) => `${short(k)}@#${op}`).join(", ")}`,
    ].join("\n");
  }
}

/** A stream item on one line, with keys and ids cut to their last 8 characters. */
function showItem(data: unknown): string {
  const text = JSON.stringify(data, (key, value: unknown) => (key === "input" ? undefined : value));
  return text.replace(
    /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}([0-9a-f]{8})/g,
    "…$1",
  );
}

function describeError(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const frames = (error.stack ?? "").split("\n").slice(1, 4).join(" |");
  return `${error.name}: ${error.message.split("\n")[0]} ${frames}`;
}

function showOutcome(outcome: Outcome): string {
  switch (outcome.kind) {
    case "ok": {
      const pending = outcome.result?.__interrupt__?.map((i) => `${i.kind}:${i.node}`) ?? [];
      return `ok${pending.length ? ` (paused: ${pending.join(",")})` : ""}${outcome.items ? ` (${outcome.items.length} stream items)` : ""}${outcome.updateId ? ` (${short(outcome.updateId)})` : ""}`;
    }
    case "fault":
      return "InjectedFault";
    case "killed":
      return "SIGKILL";
    case "error":
      return `error ${describeError(outcome.error).split(" |")[0]}`;
  }
}
