/**
 * The effect invariants, over what the sink saw and what storage recorded:
 *
 * - recorded-effect-ran-again: a key once recorded (in any branch) is never
 *   delivered again.
 * - key-delivered-twice-in-one-op: only a crash between an effect and its
 *   record may deliver a key again, and a crash ends the op.
 * - delivered-effect-not-recorded: after an op that no kill ended, every key
 *   it delivered is recorded, but for the one effect a thrown
 *   after-effect-before-record fault stopped.
 * - key-reused-across-branches: a key is never delivered again once a branch
 *   (replay or fork from a past checkpoint, COPY) was made since it was.
 * - effect-rekeyed-in-continuation: between two ops that start new work
 *   (a new input, asNode/END/COPY, a branch), an effect (node, Send index,
 *   effect name) is delivered under one key only: resuming after an
 *   interrupt, a crash or a plain edit keeps the keys.
 * - finished-task-ran-again: a task the head showed as finished does not
 *   start again when the head is resumed.
 * - waiting-task-ran-again: nor does a task waiting on an interrupt that the
 *   op did not answer.
 * - head-log-duplicate-key: the head's log never holds one key twice.
 * - head-log-key-not-from-this-branch: every key in the head's log was
 *   delivered since the branch was made, or was in the state it was made from.
 */
import type { Delivery, Entry } from "./sink.js";

export interface Violation {
  readonly invariant: string;
  readonly detail: string;
}

export interface OpEffects {
  readonly op: number;
  readonly starter: boolean;
  readonly switched: boolean;
  /** Keys in the committed state the new branch was made from (when switched). */
  readonly sourceKeys: ReadonlySet<string>;
  readonly deliveries: readonly Delivery[];
  readonly allDeliveries: readonly Delivery[];
  readonly entries: readonly Entry[];
  /** Task ids the head showed as finished before the op. */
  readonly finishedBefore: ReadonlySet<string>;
  /** Task ids waiting on a dynamic interrupt before the op that the op does not answer. */
  readonly waitingBefore: ReadonlySet<string>;
  readonly recordedNow: ReadonlySet<string>;
  readonly fault: { readonly point: string; readonly how: string; readonly fired: boolean } | null;
  readonly headLogKeys: readonly string[];
}

const short = (key: string) => key.slice(-8);

export class EffectLedger {
  /** Key → the op after which it was first seen recorded. */
  readonly recorded = new Map<string, number>();
  readonly switches: number[] = [];
  /** Effect slot → key, since the last op that started new work. */
  readonly segment = new Map<string, string>();
  born = { op: 0, sourceKeys: new Set<string>() as ReadonlySet<string> };

  check(e: OpEffects): Violation[] {
    const out: Violation[] = [];
    const v = (invariant: string, detail: string) => out.push({ invariant, detail });
    if (e.switched) this.switches.push(e.op);
    if (e.starter) this.segment.clear();

    const seen = new Set<string>();
    for (const d of e.deliveries) {
      if (seen.has(d.key))
        v(
          "key-delivered-twice-in-one-op",
          `${d.slot} key ${short(d.key)} delivered twice in op #${e.op}`,
        );
      seen.add(d.key);
      const recordedAt = this.recorded.get(d.key);
      if (recordedAt !== undefined)
        v(
          "recorded-effect-ran-again",
          `${d.slot} key ${short(d.key)} was recorded after op #${recordedAt} and is delivered again in op #${e.op}`,
        );
      const earlier = e.allDeliveries.filter((x) => x.key === d.key && x.op < e.op);
      for (const x of earlier) {
        const between = this.switches.filter((s) => s > x.op && s <= e.op);
        if (between.length > 0)
          v(
            "key-reused-across-branches",
            `${d.slot} key ${short(d.key)} delivered in op #${x.op} and again in op #${e.op}, after the branch made in op #${between[0]}`,
          );
      }
      const before = this.segment.get(d.slot);
      if (before !== undefined && before !== d.key)
        v(
          "effect-rekeyed-in-continuation",
          `${d.slot} delivered under ${short(before)} (${this.recorded.has(before) ? "recorded" : "not recorded"}) and then under ${short(d.key)} in op #${e.op}, with no new input, asNode, END, COPY or branch between`,
        );
      else this.segment.set(d.slot, d.key);
    }

    if (e.fault?.how !== "kill" || !e.fault.fired) {
      const missing = [...seen].filter((key) => !e.recordedNow.has(key));
      const allowed =
        e.fault?.fired === true && e.fault.point === "after-effect-before-record" ? 1 : 0;
      if (missing.length > allowed)
        v(
          "delivered-effect-not-recorded",
          `op #${e.op} delivered ${missing.map(short).join(", ")} but storage has no record of ${missing.length > 1 ? "them" : "it"}`,
        );
    }
    for (const key of e.recordedNow) if (!this.recorded.has(key)) this.recorded.set(key, e.op);

    if (!e.starter) {
      for (const entry of e.entries) {
        if (e.finishedBefore.has(entry.taskId))
          v(
            "finished-task-ran-again",
            `${entry.node} (task ${short(entry.taskId)}) had finished at the head and ran again in op #${e.op}`,
          );
        if (e.waitingBefore.has(entry.taskId))
          v(
            "waiting-task-ran-again",
            `${entry.node} (task ${short(entry.taskId)}) waits on an interrupt op #${e.op} did not answer, and ran again`,
          );
      }
    }

    const counts = new Map<string, number>();
    for (const key of e.headLogKeys) counts.set(key, (counts.get(key) ?? 0) + 1);
    for (const [key, n] of counts)
      if (n > 1) v("head-log-duplicate-key", `the head's log holds key ${short(key)} ${n} times`);

    if (e.switched) this.born = { op: e.op, sourceKeys: e.sourceKeys };
    for (const key of counts.keys()) {
      if (this.born.sourceKeys.has(key)) continue;
      if (e.allDeliveries.some((d) => d.key === key && d.op >= this.born.op)) continue;
      v(
        "head-log-key-not-from-this-branch",
        `the head's log holds key ${short(key)}, which was not delivered since this branch was made (op #${this.born.op}) nor was in the state it was made from`,
      );
    }
    return out;
  }
}
