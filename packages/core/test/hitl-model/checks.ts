/**
 * After every op: the head is one chain (and the op moved it where it should),
 * and what the op promised holds (its postconditions).
 */
import type { CheckpointHeader } from "@waypoint/checkpoint";
import type { InvokeResult } from "@waypoint/core";
import type { Violation } from "./effect-rules.js";
import type { GraphInfo, State } from "./graphs.js";
import type { Action } from "./resolve.js";
import {
  committedKeys,
  dynamicIds,
  isFinished,
  logOf,
  sameMultiset,
  short,
  type Snapshot,
} from "./snapshot.js";

export type Outcome =
  | {
      readonly kind: "ok";
      readonly fired: boolean;
      readonly result?: InvokeResult<typeof State>;
      readonly items?: readonly (readonly [string, unknown])[];
      readonly updateId?: string;
    }
  | { readonly kind: "fault" | "killed"; readonly fired: true }
  | { readonly kind: "error"; readonly fired: boolean; readonly error: unknown };

export interface OpContext {
  readonly index: number;
  readonly action: Action;
  readonly outcome: Outcome;
  readonly before: Snapshot | undefined;
  readonly beforeHistory: readonly CheckpointHeader[];
  readonly after: Snapshot | undefined;
  readonly history: readonly CheckpointHeader[];
  readonly stateAt: (checkpointId: string) => Promise<Snapshot | undefined>;
}

export interface ChainResult {
  readonly violations: Violation[];
  readonly switched: boolean;
  readonly sourceKeys: ReadonlySet<string>;
}

export async function chainCheck(c: OpContext): Promise<ChainResult> {
  const out: Violation[] = [];
  const v = (detail: string, invariant = "head-is-one-chain") => out.push({ invariant, detail });
  const { after, before, history, action } = c;
  if (after === undefined) {
    if (history.length > 0) v("getState is undefined but the thread has checkpoints");
    return { violations: out, switched: false, sourceKeys: new Set() };
  }
  if (history[0]?.id !== after.checkpointId)
    v(
      `getState's checkpoint ${short(after.checkpointId)} is not the newest one (${short(history[0]?.id)})`,
    );
  const byId = new Map(history.map((h) => [h.id, h]));
  const chain: string[] = [];
  for (let id: string | null = after.checkpointId; id !== null;) {
    const header: CheckpointHeader | undefined = byId.get(id);
    if (header === undefined) {
      v(`checkpoint ${short(id)} on the head's chain is not in the history`);
      break;
    }
    if (chain.includes(id)) {
      v(`the head's chain loops at ${short(id)}`);
      break;
    }
    chain.push(id);
    const parent = header.parentId === null ? undefined : byId.get(header.parentId);
    if (parent !== undefined && parent.step >= header.step)
      v(
        `step does not grow from ${short(parent.id)} (${parent.step}) to ${short(header.id)} (${header.step})`,
      );
    id = header.parentId;
  }
  if ((chain[1] ?? null) !== after.parentCheckpointId)
    v(
      `getState's parentCheckpointId ${short(after.parentCheckpointId)} is not the chain's ${short(chain[1])}`,
    );

  const oldHead = before?.checkpointId;
  const moved = oldHead !== undefined && after.checkpointId !== oldHead;
  const from = action.branchFrom;
  const switched = moved && (from !== undefined || !chain.includes(oldHead));
  if (c.outcome.kind === "ok" && moved) {
    if (from !== undefined && action.update?.mode !== "copy") {
      if (!chain.includes(from))
        v(`the new branch does not start at ${short(from)}`, "branch-starts-where-asked");
      if (chain.includes(oldHead))
        v(
          `the branch from ${short(from)} was written after the old head ${short(oldHead)}`,
          "branch-starts-where-asked",
        );
    }
    if (from === undefined && !chain.includes(oldHead))
      v(
        `the op continued the head ${short(oldHead)} but the new head's chain leaves it`,
        "continuation-stays-on-branch",
      );
  }
  if (c.outcome.kind === "ok" && from !== undefined && !moved && action.run !== undefined) {
    const planned = c.beforeHistory.find((h) => h.id === from)?.next.length ?? 0;
    if (planned > 0)
      v(
        `a replay from ${short(from)}, which plans ${planned} task(s), left the head at ${short(oldHead)}`,
        "branch-starts-where-asked",
      );
  }
  let sourceKeys: ReadonlySet<string> = new Set();
  if (switched) {
    const known = new Set(c.beforeHistory.map((h) => h.id));
    const source = from ?? chain.find((id) => known.has(id));
    if (source !== undefined) sourceKeys = committedKeys(await c.stateAt(source));
  }
  return { violations: out, switched, sourceKeys };
}

export async function postconditions(c: OpContext, info: GraphInfo): Promise<Violation[]> {
  const out: Violation[] = [];
  const v = (invariant: string, detail: string) => out.push({ invariant, detail });
  const { before, after, action, outcome } = c;
  if (outcome.kind !== "ok") return out;

  if (action.answers !== undefined && before !== undefined && after !== undefined) {
    for (const [id, value] of action.answers) {
      const interrupt = before.interrupts.find((i) => i.id === id);
      if (after.interrupts.some((i) => i.id === id))
        v(
          "resume-answers-interrupt",
          `${interrupt?.node} (${short(id)}) was answered and is still pending`,
        );
      const owner = before.tasks.find((t) => t.interrupts.some((i) => i.id === id));
      const now = owner && after.tasks.find((t) => t.id === owner.id);
      if (
        now !== undefined &&
        !isFinished(now) &&
        now.interrupts.length === 0 &&
        now.error === undefined
      )
        v(
          "resume-runs-answered-task",
          `${now.name} (${short(now.id)}) was answered but did not run: it is still planned, unfinished, with no interrupt`,
        );
      const label =
        typeof interrupt?.value === "string" ? interrupt.value.replace(/\?$/, "") : undefined;
      if (label === undefined) continue;
      for (const entry of logOf(after)) {
        if (
          logOf(before).includes(entry) ||
          !entry.startsWith(`${label}|`) ||
          !entry.includes("|ans=")
        )
          continue;
        if (!entry.endsWith(`|ans=${String(value)}`))
          v(
            "resume-value-delivered",
            `${label} was answered ${String(value)} but logged "${entry.split("|ans=")[1]}"`,
          );
      }
    }
  }

  const update = action.update;
  if (update === undefined) return out;
  if (after === undefined || after.checkpointId !== outcome.updateId)
    v(
      "update-returns-new-head",
      `updateState returned ${short(outcome.updateId)}, the head is ${short(after?.checkpointId)}`,
    );
  if (after === undefined) return out;
  if (before === undefined) return out; // created the thread: nothing more to compare
  const atHead = update.checkpointId === undefined || update.checkpointId === before.checkpointId;
  const source = atHead ? before : await c.stateAt(update.checkpointId);
  if (update.mode === "values" && atHead) {
    if (!sameMultiset(after.next, before.next))
      v(
        "plain-edit-keeps-plan",
        `next was [${before.next.join(",")}], after the edit [${after.next.join(",")}]`,
      );
    if (!sameMultiset(dynamicIds(after.interrupts), dynamicIds(before.interrupts)))
      v(
        "plain-edit-keeps-interrupts",
        `interrupts were [${dynamicIds(before.interrupts).map(short).join(",")}], after the edit [${dynamicIds(after.interrupts).map(short).join(",")}]`,
      );
    const lost = logOf(before).filter((entry) => !logOf(after).includes(entry));
    if (lost.length > 0 || !logOf(after).includes(String(update.values?.log)))
      v("plain-edit-keeps-finished-work", `the edit lost [${lost.join(", ")}] or its own entry`);
  }
  if (update.mode === "values" && !atHead && after.parentCheckpointId !== update.checkpointId)
    v(
      "fork-parent",
      `a fork at ${short(update.checkpointId)} has parent ${short(after.parentCheckpointId)}`,
    );
  if (update.mode === "asNode") {
    // asNode's edges decide next, with those of the tasks that had finished (their work is kept, as in LangGraph).
    const finished = source?.tasks.filter(isFinished).map((t) => t.name) ?? [];
    const own = info.successors[update.asNode!] ?? { nodes: [], exact: true };
    const allowed = new Set(
      [own, ...finished.map((n) => info.successors[n])].flatMap((s) => s?.nodes ?? []),
    );
    const extra = after.next.filter((n) => !allowed.has(n));
    if (
      extra.length > 0 ||
      (own.exact && finished.length === 0 && !sameMultiset(after.next, own.nodes))
    )
      v(
        "asnode-edges-decide-next",
        `asNode ${update.asNode}${finished.length ? ` (with finished ${finished.join(",")})` : ""} may plan [${[...allowed].join(",")}], next is [${after.next.join(",")}]`,
      );
    if (after.interrupts.length > 0)
      v(
        "asnode-edges-decide-next",
        `asNode ${update.asNode} left interrupts pending: ${after.interrupts.map((i) => i.node).join(",")}`,
      );
  }
  if (
    update.mode === "end" &&
    (after.next.length > 0 || after.interrupts.length > 0 || after.tasks.length > 0)
  )
    v(
      "end-clears-plan",
      `after asNode END: next=[${after.next.join(",")}] interrupts=${after.interrupts.length} tasks=${after.tasks.length}`,
    );
  if (update.mode === "copy") {
    if (after.metadata.source !== "fork")
      v("copy-is-a-fork", `metadata.source is ${JSON.stringify(after.metadata.source)}`);
    const expected = source?.tasks.map((t) => t.name) ?? [];
    if (
      after.interrupts.length > 0 ||
      after.tasks.some(isFinished) ||
      !sameMultiset(after.next, expected)
    )
      v(
        "copy-keeps-plan-drops-pending",
        `source planned [${expected.join(",")}]; the copy has next=[${after.next.join(",")}], ${after.interrupts.length} interrupts, ${after.tasks.filter(isFinished).length} finished tasks`,
      );
  }
  return out;
}
