import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, expect, it } from "vitest";
import { MemoryCheckpointer } from "@waypoint/checkpoint";
import { SqliteCheckpointer } from "@waypoint/checkpoint-sqlite";
import type { FaultPointName } from "@waypoint/core/testing";
import { ChildScript } from "@waypoint/test-services";
import { buildFlow, flowCalls, type Recorded } from "./fixtures/functional-crash-flow.js";

/**
 * The crash test's twin for entrypoints (crash.int.test.ts does graphs): one
 * thread of the crash flow, run by a child process on SQLite that is
 * SIGKILLed again and again, each time a fresh process resuming the thread:
 * at each fault point for sequential calls, parallel calls and effects inside
 * them, at the input's and the end's commits, and at seeded random moments
 * mid-task. FUZZ_SEED and FUZZ_KILL_RUNS (the random kills; 4 here, more in
 * `pnpm fuzz`) change the random part.
 */

const CHILD = fileURLToPath(new URL("./fixtures/functional-crash-child.ts", import.meta.url));
const SEED = Number(process.env.FUZZ_SEED ?? 20_261_207);
const RANDOM_KILLS = Number(process.env.FUZZ_KILL_RUNS ?? 4);
/** Round 0 has the fixed kills, the others the random ones. */
const ROUNDS = 2 + Math.ceil(RANDOM_KILLS / 2);
/** Where a task call's result is recorded: the entrypoint task's pending writes. */
const EFFECT_CHANNEL = "__effect__";

/** Every fault point there is: a new one fails the typecheck here until the schedule covers it. */
const FAULT_POINTS = {
  "before-effect": true,
  "after-effect-before-record": true,
  "after-record": true,
  "before-commit": true,
  "after-commit": true,
} satisfies Record<FaultPointName, true>;

/** Kills before the random ones: `<point>@<call>`, or `<point>#<nth pass>` (the child's stop argument). */
const FIRST_KILLS = [
  "before-commit#1", // the input's checkpoint is never stored: the next process starts again
  "after-commit#1", // the input stored, no call ran
  "before-effect@plan 0", // a sequential task call, before its body
  "after-effect-before-record@plan 0/charge", // an effect inside a task ran, not recorded
  "after-record@plan 0/charge", // the effect recorded, its task not
  "after-effect-before-record@plan 0", // the task returned, not recorded
  "after-record@plan 0",
  "before-effect@work 0.1", // parallel calls: the first started, the others not
  "after-record@work 0.0", // one parallel call recorded, two in flight
  "after-effect-before-record@work 0.1/charge", // an effect ran, its call's sibling in flight
  "after-effect-before-record@work 0.2", // the last parallel call returned, not recorded
];
const LAST_KILLS = [
  "before-effect@notify", // the entrypoint's own ctx.effect
  "after-effect-before-record@notify",
  "after-record@notify",
  "before-commit#1", // every call recorded, the run's end not committed
  "after-commit#1", // committed; the process dies before it returns
];

const directory = mkdtempSync(join(tmpdir(), "waypoint-functional-crash-"));
afterAll(() => rmSync(directory, { recursive: true, force: true }));

function lines(file: string): string[] {
  return existsSync(file) ? readFileSync(file, "utf8").split("\n").filter(Boolean) : [];
}

/** What a directory's logs say: task starts in order, and the sink's calls and applications as [key, label]. */
function ledger(dir: string) {
  const pairs = (name: string) =>
    lines(join(dir, name)).map((line) => {
      const space = line.indexOf(" ");
      return [line.slice(0, space), line.slice(space + 1)] as const;
    });
  return {
    starts: lines(join(dir, "exec.log")).map((line) => line.slice("start ".length)),
    calls: pairs("calls.log"),
    applied: pairs("applied.log"),
  };
}

/** The labels of the calls whose results the store holds, and how many checkpoints the thread has. */
async function storedCalls(file: string, threadId: string) {
  const checkpointer = new SqliteCheckpointer(file);
  try {
    const recorded = new Set<string>();
    let checkpoints = 0;
    for await (const header of checkpointer.list(threadId)) {
      checkpoints += 1;
      const loaded = await checkpointer.get(threadId, { checkpointId: header.id });
      for (const write of loaded!.pendingWrites) {
        const record = write.value as { ok: boolean; result: Recorded };
        if (write.channel === EFFECT_CHANNEL && record.ok) recorded.add(record.result.label);
      }
    }
    return { recorded, checkpoints };
  } finally {
    await checkpointer.close();
  }
}

/** mulberry32: a small seeded generator, so a failing schedule can be replayed. */
function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

interface Kill {
  readonly at: string;
  /** The child's last line: where it died. */
  readonly landed: string;
  /** Lengths of exec.log and calls.log at the kill. */
  readonly starts: number;
  readonly calls: number;
  /** Calls (tasks and effects) recorded in the store at the kill. */
  readonly recorded: ReadonlySet<string>;
  /** Calls that ran and were not recorded: these may run again. */
  readonly inFlight: ReadonlySet<string>;
  readonly checkpoints: number;
}

it(
  "survives SIGKILL at every fault point and mid-task, parallel calls included: the uninterrupted run's result, no recorded call runs again, each effect applied once",
  async () => {
    const began = Date.now();
    const { tasks, effects } = flowCalls(ROUNDS);
    const expectedDir = join(directory, "expected");
    mkdirSync(expectedDir);
    const expected = await buildFlow(new MemoryCheckpointer(), expectedDir).invoke(ROUNDS, {
      threadId: "expected",
    });
    expect(ledger(expectedDir).starts.sort()).toEqual([...tasks].sort());
    expect(ledger(expectedDir).applied.map(([, label]) => label)).toHaveLength(effects.length);

    const dir = join(directory, "crashed");
    mkdirSync(dir);
    const db = join(dir, "checkpoints.db");
    const threadId = "crashed";
    const kills: Kill[] = [];
    const skipped: string[] = [];

    async function afterKill(at: string, child: ChildScript): Promise<Kill> {
      const { recorded, checkpoints } = await storedCalls(db, threadId);
      const { starts, calls } = ledger(dir);
      const ran = new Set([...starts, ...calls.map(([, label]) => label)]);
      const kill: Kill = {
        at,
        landed: child.lines.at(-1) ?? "",
        starts: starts.length,
        calls: calls.length,
        recorded,
        inFlight: new Set([...ran].filter((label) => !recorded.has(label))),
        checkpoints,
      };
      kills.push(kill);
      return kill;
    }

    /** Runs a child stopped at a fault point, which kills itself there. */
    async function killAt(at: string): Promise<void> {
      const [point, where] = at.includes("@") ? at.split("@") : at.split("#");
      if (at.includes("@") && kills.at(-1)?.recorded.has(where!)) {
        skipped.push(at); // a timing left it recorded already: nothing runs there any more
        return;
      }
      const child = new ChildScript(CHILD, [db, dir, threadId, String(ROUNDS), at]);
      expect(await child.exited, `${at}: ${child.lines.join("\n")}`).toBe("SIGKILL");
      const before = kills.at(-1);
      const kill = await afterKill(at, child);
      expect(kill.landed, at).toBe(`fault ${point} ${at.includes("@") ? where : `#${where}`}`);
      if (at.includes("@")) {
        const label = where!;
        const ranHere =
          ledger(dir)
            .starts.slice(before?.starts ?? 0)
            .includes(label) ||
          ledger(dir)
            .calls.slice(before?.calls ?? 0)
            .some(([, called]) => called === label);
        // before-effect: not run; after-effect-before-record: run, not recorded; after-record: recorded.
        expect(ranHere, at).toBe(point !== "before-effect");
        expect(kill.recorded.has(label), at).toBe(point === "after-record");
      }
    }

    // The input's commit: nothing stored, then the input alone.
    for (const at of FIRST_KILLS) await killAt(at);
    expect(kills[0]!.checkpoints).toBe(0);
    expect(kills[1]).toMatchObject({ checkpoints: 1, recorded: new Set() });

    // Random moments mid-task in rounds 1.., the child held before `notify` so it cannot finish.
    const next = random(SEED);
    let randomKills = 0;
    for (; randomKills < RANDOM_KILLS; randomKills += 1) {
      const open = tasks.filter((label) => !label.endsWith(" 0") && !label.includes(" 0."));
      // The next calls in the run's order, so that each kill moves the run on by a round at most.
      const waiting = open.filter((label) => !kills.at(-1)!.recorded.has(label)).slice(0, 4);
      if (waiting.length === 0) break;
      const label = waiting[Math.floor(next() * waiting.length)]!;
      const delayMs = Math.floor(next() * 45);
      const at = `${label} +${delayMs}ms`;
      const child = new ChildScript(CHILD, [db, dir, threadId, String(ROUNDS), "block@notify"]);
      await child.waitFor((line) => line === `start ${label}`);
      await new Promise((resolve) => setTimeout(resolve, delayMs));
      await child.kill();
      await afterKill(at, child);
    }

    // The entrypoint's own effect, then the end's commit.
    for (const at of LAST_KILLS) await killAt(at);
    const allCalls = [...tasks, ...effects];
    expect(kills.at(-2)).toMatchObject({ checkpoints: 1, recorded: new Set(allCalls) });
    expect(kills.at(-1)).toMatchObject({ checkpoints: 2 });

    const last = new ChildScript(CHILD, [db, dir, threadId, String(ROUNDS)]);
    const done = await last.waitFor((line) => line.startsWith("done "));
    expect(await last.exited).toBe(0);
    expect(JSON.parse(done.slice("done ".length))).toEqual(expected);
    const store = new SqliteCheckpointer(db);
    expect((await buildFlow(store, dir).getState(threadId))?.values).toEqual(expected);
    await store.close();

    // Every fault point was a kill, and some kills caught parallel calls in flight.
    const landed = new Set(
      kills
        .map((k) => k.landed.split(" "))
        .map(([kind, point]) => (kind === "fault" ? point : kind)),
    );
    for (const point of Object.keys(FAULT_POINTS)) expect(landed, point).toContain(point);
    expect(
      kills.some(
        (k) => [...k.inFlight].filter((l) => l.startsWith("work ") && !l.includes("/")).length >= 2,
      ),
    ).toBe(true);

    // No call recorded by the time of a kill ran after it.
    const { starts, calls, applied } = ledger(dir);
    const ran = (from: Kill) => [
      ...starts.slice(from.starts),
      ...calls.slice(from.calls).map(([, label]) => label),
    ];
    for (const kill of kills)
      expect(
        ran(kill).filter((label) => kill.recorded.has(label)),
        kill.at,
      ).toEqual([]);
    // A call ran again only after a kill that caught it run and not recorded.
    const runs = (log: readonly string[], length: (k: Kill) => number) => {
      const positions = new Map<string, number[]>();
      log.forEach((label, at) => positions.set(label, [...(positions.get(label) ?? []), at]));
      for (const [label, at] of positions)
        for (let i = 1; i < at.length; i += 1)
          expect(
            kills.some(
              (k) => length(k) > at[i - 1]! && length(k) <= at[i]! && k.inFlight.has(label),
            ),
            `${label} ran again at line ${at[i]} without a kill while in flight`,
          ).toBe(true);
    };
    runs(starts, (k) => k.starts);
    runs(
      calls.map(([, label]) => label),
      (k) => k.calls,
    );

    // The sink: every effect applied once, each call of an effect under the one key.
    expect(applied.map(([, label]) => label).sort()).toEqual([...effects].sort());
    const keys = new Map<string, Set<string>>();
    for (const [key, label] of calls) keys.set(label, (keys.get(label) ?? new Set()).add(key));
    for (const [label, used] of keys) expect(used.size, label).toBe(1);
    expect(calls.length).toBeGreaterThan(applied.length);
    expect(starts.length).toBeGreaterThan(tasks.length);

    console.log(
      `functional crash test (FUZZ_SEED=${SEED} FUZZ_KILL_RUNS=${RANDOM_KILLS}): ${kills.length} kills ` +
        `(${randomKills} at random moments, ${kills.length - randomKills} at fault points${skipped.length ? `, skipped as recorded: ${skipped.join(", ")}` : ""}), ` +
        `${starts.length} task executions for ${tasks.length} calls, ${calls.length} effect calls for ${effects.length} effects, ` +
        `${Date.now() - began} ms`,
    );
  },
  90_000 + 5_000 * RANDOM_KILLS,
);
