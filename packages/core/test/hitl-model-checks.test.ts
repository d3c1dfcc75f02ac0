/**
 * The model test's checks can fail: each invariant is fed a situation that
 * breaks it (made up, or a real thread with a faked sink or a doctored
 * snapshot) and must report it by name. A check that cannot fail is a defect.
 */
import { describe, expect, it } from "vitest";
import { MemoryCheckpointer, type CheckpointHeader } from "@waypoint/checkpoint";
import type { Interrupt, StateTask } from "@waypoint/core";
import { chainCheck, postconditions, type OpContext, type Outcome } from "./hitl-model/checks.js";
import { EffectLedger, type OpEffects, type Violation } from "./hitl-model/effect-rules.js";
import { GRAPH_INFO } from "./hitl-model/graphs.js";
import { probeInterrupts, probeNext } from "./hitl-model/probes.js";
import type { Action } from "./hitl-model/resolve.js";
import type { Snapshot } from "./hitl-model/snapshot.js";
import { reportCheck } from "./hitl-model/stream-check.js";
import { World } from "./hitl-model/world.js";

const names = (violations: readonly Violation[]) => violations.map((v) => v.invariant);

function effects(partial: Partial<OpEffects> & { op: number }): OpEffects {
  return {
    starter: false,
    switched: false,
    sourceKeys: new Set(),
    deliveries: [],
    allDeliveries: partial.deliveries ?? [],
    entries: [],
    finishedBefore: new Set(),
    waitingBefore: new Set(),
    recordedNow: new Set(partial.deliveries?.map((d) => d.key) ?? []),
    fault: null,
    headLogKeys: [],
    ...partial,
  };
}

const ask = (id: string, node = "b", kind: Interrupt["kind"] = "dynamic"): Interrupt => ({
  id,
  value: `${node}?`,
  node,
  taskId: `task-${node}`,
  namespace: "",
  kind,
});

function snap(partial: {
  id: string;
  parent?: string | null;
  step?: number;
  next?: string[];
  tasks?: StateTask[];
  interrupts?: Interrupt[];
  log?: string[];
  source?: string;
}): Snapshot {
  return {
    values: { log: partial.log ?? [], n: 1, note: undefined },
    next: partial.next ?? [],
    tasks: partial.tasks ?? [],
    interrupts: partial.interrupts ?? [],
    pendingToolCalls: [],
    checkpointId: partial.id,
    parentCheckpointId: partial.parent ?? null,
    step: partial.step ?? 0,
    createdAt: new Date(0),
    metadata: { source: partial.source ?? "loop" },
  };
}

const header = (id: string, parentId: string | null, step: number, next = 0) =>
  ({
    id,
    parentId,
    step,
    next: Array.from({ length: next }, () => ({})),
    metadata: {},
  }) as unknown as CheckpointHeader;

function context(partial: Partial<OpContext>): OpContext {
  return {
    index: 2,
    action: { text: "", starter: false },
    outcome: { kind: "ok", fired: false },
    before: undefined,
    beforeHistory: [],
    after: undefined,
    history: [],
    stateAt: () => Promise.resolve(undefined),
    ...partial,
  };
}

describe("the hitl model test's checks catch what they are for", () => {
  it("effect rules: each one fires on a history that breaks it", () => {
    const d = (key: string, op: number, slot = "a/e") => ({ key, slot, op });
    const fresh = () => new EffectLedger();
    expect(
      names(fresh().check(effects({ op: 1, deliveries: [d("k1", 1), d("k1", 1)] }))),
    ).toContain("key-delivered-twice-in-one-op");
    const again = fresh();
    again.check(effects({ op: 1, deliveries: [d("k1", 1)] }));
    expect(
      names(
        again.check(
          effects({ op: 2, deliveries: [d("k1", 2)], allDeliveries: [d("k1", 1), d("k1", 2)] }),
        ),
      ),
    ).toContain("recorded-effect-ran-again");
    expect(
      names(fresh().check(effects({ op: 1, deliveries: [d("k1", 1)], recordedNow: new Set() }))),
    ).toContain("delivered-effect-not-recorded");
    // ...but the one effect a fault stopped between it and its record is allowed.
    const window = { point: "after-effect-before-record", how: "throw", fired: true };
    expect(
      fresh().check(
        effects({ op: 1, deliveries: [d("k1", 1)], recordedNow: new Set(), fault: window }),
      ),
    ).toEqual([]);

    const branch = fresh();
    branch.check(
      effects({ op: 1, deliveries: [d("k1", 1)], recordedNow: new Set(), fault: window }),
    );
    branch.check(effects({ op: 2, starter: true, switched: true }));
    expect(
      names(
        branch.check(
          effects({ op: 3, deliveries: [d("k1", 3)], allDeliveries: [d("k1", 1), d("k1", 3)] }),
        ),
      ),
    ).toContain("key-reused-across-branches");

    const rekey = fresh();
    rekey.check(effects({ op: 1, starter: true, deliveries: [d("k1", 1)] }));
    expect(
      names(
        rekey.check(
          effects({ op: 2, deliveries: [d("k2", 2)], allDeliveries: [d("k1", 1), d("k2", 2)] }),
        ),
      ),
    ).toContain("effect-rekeyed-in-continuation");

    expect(
      names(
        fresh().check(
          effects({
            op: 1,
            entries: [{ node: "a", taskId: "t1", op: 1 }],
            finishedBefore: new Set(["t1"]),
          }),
        ),
      ),
    ).toContain("finished-task-ran-again");
    const entries = [{ node: "b", taskId: "t2", op: 1 }];
    expect(
      names(fresh().check(effects({ op: 1, entries, waitingBefore: new Set(["t2"]) }))),
    ).toContain("waiting-task-ran-again");
    expect(
      names(fresh().check(effects({ op: 1, deliveries: [d("k1", 1)], headLogKeys: ["k1", "k1"] }))),
    ).toContain("head-log-duplicate-key");
    expect(names(fresh().check(effects({ op: 1, headLogKeys: ["k9"] })))).toContain(
      "head-log-key-not-from-this-branch",
    );
  });

  it("the sink's faked duplicate delivery is caught on a real run", async () => {
    const world = new World({
      graph: "sends",
      store: "memory",
      checkpointer: new MemoryCheckpointer(),
      threadId: "dup",
    });
    world.sink.fake.duplicateNextDelivery = true;
    await expect(world.apply({ kind: "invoke", n: 1, via: "invoke", fault: null })).rejects.toThrow(
      /\[key-delivered-twice-in-one-op\]/,
    );
  });

  it("chain: a head that is not the newest, a missing parent, a continuation off the branch, a branch in the wrong place", async () => {
    const after = snap({ id: "c2", parent: "c1", step: 1 });
    const broken = await chainCheck(
      context({ after, history: [header("c3", "c1", 1), header("c2", "c1", 1)] }),
    );
    expect(broken.violations.map((v) => v.detail).join()).toMatch(/not the newest/);
    const orphan = await chainCheck(context({ after, history: [header("c2", "c1", 1)] }));
    expect(names(orphan.violations)).toContain("head-is-one-chain");
    const history = [header("c2", "c1", 1), header("x", "c1", 1), header("c1", null, 0, 2)];
    const left = await chainCheck(context({ before: snap({ id: "x" }), after, history }));
    expect(names(left.violations)).toContain("continuation-stays-on-branch");
    const wrong = await chainCheck(
      context({
        before: snap({ id: "x" }),
        after,
        history,
        action: { text: "", starter: true, branchFrom: "x" },
      }),
    );
    expect(names(wrong.violations)).toContain("branch-starts-where-asked");
    const stuck = await chainCheck(
      context({
        before: snap({ id: "c2", parent: "c1" }),
        after,
        history,
        beforeHistory: history,
        action: { text: "", starter: true, branchFrom: "c1", run: { input: { kind: "null" } } },
      }),
    );
    expect(stuck.violations.map((v) => v.detail).join()).toMatch(/left the head/);
  });

  it("postconditions: resume, plain edit, asNode, END and COPY", async () => {
    const b: StateTask = {
      id: "tb",
      name: "b",
      triggers: [],
      path: ["__pregel_pull", "b"],
      interrupts: [ask("i1")],
    };
    const before = snap({ id: "h", next: ["b"], tasks: [b], interrupts: [ask("i1")], log: ["in"] });
    const check = (
      action: Action,
      after: Snapshot,
      outcome: Outcome = { kind: "ok", fired: false, updateId: after.checkpointId },
    ) => postconditions(context({ action, before, after, outcome }), GRAPH_INFO.fanout).then(names);
    const resumed: Action = { text: "", starter: false, answers: new Map([["i1", undefined]]) };
    expect(await check(resumed, before)).toEqual(
      expect.arrayContaining(["resume-answers-interrupt"]),
    );
    const idle = snap({ id: "h", next: ["b"], tasks: [{ ...b, interrupts: [] }], log: ["in"] });
    expect(await check(resumed, idle)).toContain("resume-runs-answered-task");
    const wrongValue = snap({ id: "h2", log: ["in", "b|R:k|ans=null"] });
    expect(await check(resumed, wrongValue)).toContain("resume-value-delivered");

    const edit = (mode: "values" | "asNode" | "end" | "copy", asNode?: string): Action => ({
      text: "",
      starter: mode !== "values",
      update: {
        mode,
        values: mode === "values" || mode === "asNode" ? { log: "u:2" } : null,
        ...(asNode ? { asNode } : {}),
      },
    });
    const dropped = snap({ id: "e", next: [], log: ["in", "u:2"], source: "update" });
    expect(await check(edit("values"), dropped)).toEqual(
      expect.arrayContaining(["plain-edit-keeps-plan", "plain-edit-keeps-interrupts"]),
    );
    expect(
      await check(
        edit("values"),
        snap({ id: "e", next: ["b"], interrupts: [ask("i1")], log: ["u:2"] }),
      ),
    ).toContain("plain-edit-keeps-finished-work");
    expect(
      await check(edit("values"), dropped, { kind: "ok", fired: false, updateId: "other" }),
    ).toContain("update-returns-new-head");
    expect(await check(edit("asNode", "c"), snap({ id: "e", next: ["b"] }))).toContain(
      "asnode-edges-decide-next",
    );
    expect(await check(edit("end"), snap({ id: "e", next: ["b"] }))).toContain("end-clears-plan");
    const fork = edit("values");
    const atPast = { ...fork, update: { ...fork.update!, checkpointId: "older" } };
    expect(await check(atPast, snap({ id: "e", parent: "h" }))).toContain("fork-parent");
    expect(
      await check(
        edit("copy"),
        snap({ id: "e", next: ["b"], interrupts: [ask("i1")], source: "update" }),
      ),
    ).toEqual(expect.arrayContaining(["copy-is-a-fork", "copy-keeps-plan-drops-pending"]));
  });

  it("what a run reported against getState", () => {
    const before = snap({
      id: "h",
      next: ["b"],
      tasks: [
        {
          id: "ta",
          name: "a",
          triggers: [],
          path: ["__pregel_pull", "a"],
          interrupts: [],
          writes: [{ taskId: "ta", channel: "log", value: "a|R:ka" }],
        },
        {
          id: "tb",
          name: "b",
          triggers: [],
          path: ["__pregel_pull", "b"],
          interrupts: [ask("i1")],
        },
      ],
      interrupts: [ask("i1")],
      log: ["in", "a|R:ka"],
    });
    const after = snap({ id: "h", next: ["b"], interrupts: [ask("i2")], log: ["in", "a|R:ka"] });
    const run = (items: [string, unknown][], result?: unknown) =>
      names(
        reportCheck(
          context({
            before,
            after,
            outcome: {
              kind: "ok",
              fired: false,
              items,
              ...(result ? { result: result as never } : {}),
            },
          }),
          true,
        ),
      );
    const start = (id: string, name: string) =>
      ["tasks", { event: "start", id, name, step: 1, input: null }] as [string, unknown];
    const end = (id: string, name: string) =>
      ["tasks", { event: "end", id, name, step: 1, result: {} }] as [string, unknown];
    const broken = run([
      ["values", { log: ["in"] }],
      start("ta", "a"),
      start("tb", "b"),
      end("tb", "b"),
      ["updates", { b: { log: "b|R:kb" } }],
      ["updates", { c: { log: "c" } }],
    ]);
    expect(broken).toEqual(
      expect.arrayContaining([
        "stream-reports-pause",
        "stream-matches-state",
        "stream-task-ends",
        "stream-updates-match-tasks",
        "resume-stream-starts-with-state",
        "stream-finished-task-restarted",
        "stream-replays-cached-writes",
      ]),
    );
    expect(
      run([
        ["values", before.values],
        ["updates", { __interrupt__: [ask("i2")] }],
        ["values", { __interrupt__: [ask("i2")] }],
      ]),
    ).toEqual([]);
    const invoked = names(
      reportCheck(
        context({
          after,
          outcome: { kind: "ok", fired: false, result: { __interrupt__: [] } as never },
        }),
        false,
      ),
    );
    expect(invoked).toContain("invoke-reports-pending-interrupts");
  });

  it("probes: an interrupt that cannot be answered, and a next that is not what runs", async () => {
    const world = new World({
      graph: "sends",
      store: "memory",
      checkpointer: new MemoryCheckpointer(),
      threadId: "probe",
    });
    await world.graph.invoke({ log: "in", n: 1 }, { threadId: "probe" });
    const after = (await world.graph.getState("probe"))!;
    let copies = 0;
    const env = {
      ...world.options,
      graph: world.graph,
      sink: world.sink,
      scratchId: () => `probe~${++copies}`,
    };
    // A runtime that ignores the answer, and one that refuses it.
    const ignores = {
      ...world.graph,
      invoke: () => Promise.resolve({}),
      getState: () => Promise.resolve(after),
    };
    expect(names(await probeInterrupts({ ...env, graph: ignores as never }, after))).toContain(
      "interrupt-resumable",
    );
    const idle = {
      ...after,
      interrupts: [],
      tasks: after.tasks.map((t) => ({ ...t, interrupts: [] })),
    };
    const stalls = { ...ignores, getState: () => Promise.resolve(idle) };
    expect((await probeInterrupts({ ...env, graph: stalls as never }, after))[0]?.detail).toMatch(
      /did not run/,
    );
    const refuses = { ...ignores, invoke: () => Promise.reject(new Error("refused")) };
    expect((await probeInterrupts({ ...env, graph: refuses as never }, after))[0]?.detail).toMatch(
      /refused/,
    );
    expect(names(await probeNext(env, { ...after, next: [...after.next, "done"] }))).toContain(
      "next-is-what-runs",
    );
    expect(world.sink.deliveries).toHaveLength(1); // the probes' effects went to the scratch sink
  });
});
