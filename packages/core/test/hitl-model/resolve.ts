/** Turns a generated op into what to do on the thread as it is now (an `Action`). */
import type { CheckpointHeader } from "@waypoint/checkpoint";
import * as core from "@waypoint/core";
import { END, InvalidResumeError } from "@waypoint/core";
import { ThreadNotFoundError } from "@waypoint/checkpoint";
import type { GraphInfo } from "./graphs.js";
import type { Answer, Op, UpdateMode } from "./ops.js";
import { childInput, type ChildInput } from "./protocol.js";
import { short, type Snapshot } from "./snapshot.js";

/** `COPY` from @waypoint/core once it is exported; its documented value until then. */
export const COPY = ((core as Record<string, unknown>)["COPY"] as string | undefined) ?? "__copy__";

export interface Action {
  readonly text: string;
  /** Why the op does not apply here (it is then skipped). */
  readonly skip?: string;
  readonly run?: { readonly input: ChildInput; readonly checkpointId?: string };
  readonly update?: {
    readonly mode: UpdateMode;
    readonly values: Record<string, unknown> | null;
    readonly asNode?: string;
    readonly checkpointId?: string;
  };
  /** The op starts new work (a new input, asNode/END/COPY, a branch): see effect-rules. */
  readonly starter: boolean;
  /** For an op that makes a branch: the checkpoint it is made from. */
  readonly branchFrom?: string;
  /** The op is invalid here: the errors that are right. */
  readonly expectError?: (error: unknown) => boolean;
  /** For a resume: interrupt id → the value given. */
  readonly answers?: ReadonlyMap<string, Answer>;
}

/** Refused: nothing to resume (also by name, for an error a child process printed). */
const noThread = (error: unknown) =>
  error instanceof ThreadNotFoundError ||
  error instanceof InvalidResumeError ||
  (error instanceof Error && ["ThreadNotFoundError", "InvalidResumeError"].includes(error.name));
const show = (value: Answer) => (value === undefined ? "undefined" : JSON.stringify(value));

export function resolve(
  op: Op,
  index: number,
  before: Snapshot | undefined,
  history: readonly CheckpointHeader[],
  info: GraphInfo,
): Action {
  const pick = (past: number) => history[past % history.length]!.id;
  switch (op.kind) {
    case "invoke": {
      const value = { log: `in:${index}`, n: op.n };
      return {
        text: `invoke(${JSON.stringify(value)})`,
        run: { input: childInput.input(value) },
        starter: true,
      };
    }
    case "continue":
      return {
        text: "invoke(null)",
        run: { input: childInput.none() },
        starter: false,
        ...(before === undefined ? { expectError: noThread } : {}),
      };
    case "resume": {
      const pending = (before?.interrupts ?? []).filter((i) => i.kind === "dynamic");
      if (pending.length === 0)
        return { text: "", skip: "no dynamic interrupt pending", starter: false };
      let chosen = pending.filter((_, i) => (op.mask >> (i % 3)) & 1);
      if (chosen.length === 0) chosen = [pending[0]!];
      const answers = new Map(chosen.map((i) => [i.id, op.value] as const));
      return {
        text: `resume {${chosen.map((i) => `${i.node}(${short(i.id)}): ${show(op.value)}`).join(", ")}} of ${pending.length}`,
        run: { input: childInput.byId(Object.fromEntries(answers)) },
        starter: false,
        answers,
      };
    }
    case "bare": {
      const pending = before?.interrupts ?? [];
      const only = pending.length === 1 ? pending[0]! : undefined;
      return {
        text: `resume ${show(op.value)} (bare; ${pending.length} pending)`,
        run: { input: childInput.bare(op.value) },
        starter: false,
        ...(only ? { answers: new Map([[only.id, op.value]]) } : { expectError: noThread }),
      };
    }
    case "replay": {
      if (history.length === 0) return { text: "", skip: "no checkpoint yet", starter: false };
      const id = pick(op.past);
      const head = id === before?.checkpointId;
      return {
        text: `invoke(null, { checkpointId: ${short(id)}${head ? " (the head)" : ""} })`,
        run: { input: childInput.none(), checkpointId: id },
        starter: !head,
        ...(head ? {} : { branchFrom: id }),
      };
    }
    case "update": {
      if (before === undefined && (op.mode === "end" || op.mode === "copy"))
        return { text: "", skip: "no thread to end or copy", starter: false };
      const at = op.past === null || history.length === 0 ? undefined : pick(op.past);
      const atHead = at === undefined || at === before?.checkpointId;
      const values =
        op.mode === "values" || op.mode === "asNode"
          ? { log: `u:${index}`, note: `n${index}` }
          : null;
      const asNode =
        op.mode === "asNode"
          ? info.nodes[op.node % info.nodes.length]
          : op.mode === "end"
            ? END
            : op.mode === "copy"
              ? COPY
              : undefined;
      const branchFrom = !atHead ? at : op.mode === "copy" ? before?.checkpointId : undefined;
      return {
        text: `updateState(${JSON.stringify(values)}${asNode ? `, asNode ${asNode}` : ""}${at ? `, checkpointId ${short(at)}${atHead ? " (the head)" : ""}` : ""})`,
        update: {
          mode: op.mode,
          values,
          ...(asNode ? { asNode } : {}),
          ...(at ? { checkpointId: at } : {}),
        },
        starter: op.mode !== "values" || !atHead,
        ...(branchFrom ? { branchFrom } : {}),
      };
    }
  }
}
