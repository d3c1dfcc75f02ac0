/**
 * What a run reported equals what getState shows afterwards: the stream's last
 * values plus the updates after them give the state; a pause is reported as
 * `{ __interrupt__ }` with the pending interrupts; every task that started
 * ended; a resume stream starts with the current values and replays finished
 * siblings' writes as cached updates without running them.
 */
import type { Interrupt, TaskEvent } from "@waypoint/core";
import type { OpContext } from "./checks.js";
import type { Violation } from "./effect-rules.js";
import { dynamicIds, isFinished, sameMultiset, short } from "./snapshot.js";

type Payload = Record<string, unknown>;
const isPause = (p: unknown): p is { __interrupt__: Interrupt[] } =>
  typeof p === "object" && p !== null && "__interrupt__" in p;
const isCached = (p: unknown) =>
  (p as { __metadata__?: { cached?: unknown } } | null)?.__metadata__?.cached === true;

interface Folded {
  log: string[];
  n?: unknown;
  note?: unknown;
}

function fold(state: Folded, update: unknown): void {
  if (update === null || typeof update !== "object") return;
  const u = update as Payload;
  if ("log" in u)
    state.log.push(...(Array.isArray(u.log) ? (u.log as string[]) : [u.log as string]));
  if ("n" in u) state.n = u.n;
  if ("note" in u) state.note = u.note;
}

const canonical = (s: Folded | Payload, sorted = false) => {
  const log = [...((s.log as string[] | undefined) ?? [])];
  return JSON.stringify({ log: sorted ? log.sort() : log, n: s.n ?? null, note: s.note ?? null });
};

export function reportCheck(c: OpContext, resuming: boolean): Violation[] {
  const out: Violation[] = [];
  const v = (invariant: string, detail: string) => out.push({ invariant, detail });
  const { outcome, after, before } = c;
  if (outcome.kind !== "ok" || after === undefined) return out;
  const pending = dynamicIds(after.interrupts);
  if (outcome.result !== undefined) {
    const reported = dynamicIds(outcome.result.__interrupt__ ?? []);
    if (!sameMultiset(reported, pending))
      v(
        "invoke-reports-pending-interrupts",
        `invoke returned __interrupt__ [${reported.map(short).join(",")}], getState shows [${pending.map(short).join(",")}]`,
      );
  }
  const items = outcome.items;
  if (items === undefined) return out;
  const of = (mode: string) => items.filter(([m]) => m === mode).map(([, p]) => p);
  const values = of("values");
  const updates = of("updates");
  const tasks = of("tasks") as TaskEvent[];

  if (after.interrupts.length > 0) {
    for (const [mode, list] of [
      ["updates", updates],
      ["values", values],
    ] as const) {
      const last = list.at(-1);
      if (!isPause(last))
        v(
          "stream-reports-pause",
          `the run paused (${after.interrupts.map((i) => `${i.kind}:${i.node}`).join(",")}) but the ${mode} stream did not end with { __interrupt__ }`,
        );
      else if (!sameMultiset(dynamicIds(last.__interrupt__), pending))
        v(
          "stream-reports-pause",
          `the ${mode} stream's __interrupt__ lists [${dynamicIds(last.__interrupt__).map(short).join(",")}], getState [${pending.map(short).join(",")}]`,
        );
    }
  } else if ([...values, ...updates].some(isPause)) {
    v(
      "stream-reports-pause",
      "the stream yielded __interrupt__ but getState shows nothing pending",
    );
  }

  const lastValues = items.findLastIndex(([m, p]) => m === "values" && !isPause(p));
  const base =
    lastValues >= 0 ? (items[lastValues]![1] as Payload) : (before?.values ?? { log: [] });
  const folded: Folded = {
    log: [...((base.log as string[] | undefined) ?? [])],
    n: base.n,
    note: base.note,
  };
  for (const [mode, p] of items.slice(lastValues + 1)) {
    if (mode !== "updates" || isPause(p) || isCached(p)) continue;
    for (const [node, update] of Object.entries(p as Payload))
      if (node !== "__metadata__") fold(folded, update);
  }
  // Updates come as tasks finish, writes apply in plan order: the log is compared as a multiset.
  if (canonical(folded, true) !== canonical(after.values, true))
    v(
      "stream-matches-state",
      `the stream's last values plus later updates give ${canonical(folded)}, getState ${canonical(after.values)}`,
    );

  const starts = tasks.filter((t) => t.event === "start");
  const ends = tasks.filter((t) => t.event === "end");
  for (const s of starts)
    if (!ends.some((e) => e.id === s.id))
      v("stream-task-ends", `task ${s.name} (${short(s.id)}) started and never ended`);
  const count = (names: string[]) =>
    names.reduce((m, n) => m.set(n, (m.get(n) ?? 0) + 1), new Map<string, number>());
  const done = count(
    ends.filter((e) => e.event === "end" && !e.error && !e.interrupts?.length).map((e) => e.name),
  );
  const fresh = count(
    updates
      .filter((p) => !isPause(p) && !isCached(p))
      .flatMap((p) => Object.keys(p as Payload).filter((k) => k !== "__metadata__")),
  );
  for (const name of new Set([...done.keys(), ...fresh.keys()]))
    if (done.get(name) !== fresh.get(name))
      v(
        "stream-updates-match-tasks",
        `${name}: ${done.get(name) ?? 0} tasks ended with a result, ${fresh.get(name) ?? 0} updates reported`,
      );

  if (resuming && before !== undefined) {
    if (values.length === 0 || canonical(values[0] as Payload) !== canonical(before.values))
      v(
        "resume-stream-starts-with-state",
        `first values ${values.length ? canonical(values[0] as Payload) : "(none)"}, state before ${canonical(before.values)}`,
      );
    const finished = before.tasks.filter(isFinished);
    for (const f of finished)
      if (starts.some((s) => s.id === f.id))
        v(
          "stream-finished-task-restarted",
          `${f.name} (${short(f.id)}) had finished and started again`,
        );
    const resumed = starts.some((s) => before.tasks.some((t) => t.id === s.id));
    const cached = count(
      updates
        .filter(isCached)
        .flatMap((p) => Object.keys(p as Payload).filter((k) => k !== "__metadata__")),
    );
    const want = count(finished.map((f) => f.name));
    if (resumed)
      for (const [name, n] of want)
        if ((cached.get(name) ?? 0) < n)
          v(
            "stream-replays-cached-writes",
            `${n} finished ${name} task(s) but ${cached.get(name) ?? 0} cached update(s) for it`,
          );
  }
  return out;
}
