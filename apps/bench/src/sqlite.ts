import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import BetterSqlite3 from "better-sqlite3";
import type { CheckpointHeader } from "@waypoint/checkpoint";
import { SqliteCheckpointer } from "@waypoint/checkpoint-sqlite";
import { type LongRun, longThreadTable } from "./long-thread.js";
import { type Sample, formatBytes, measure, median, table } from "./measure.js";
import { recordFigure } from "./results.js";
import { roundsFor } from "./run-options.js";
import { LONG_GROWTH, ratio } from "./workloads.js";

/**
 * Waypoint's SQLite checkpointer against a floor: one raw single-row INSERT
 * of the superstep's writes (JSON) per superstep, in its own transaction, on
 * a file with the same settings. Target: at most 2x on time and on bytes.
 *
 * Waypoint's side passes `accumulating: {log}` to put, as the runtime does
 * for a reducer channel (since 60e9214: a growing list then makes no
 * snapshot due). "old put" is the same put without it, every write counted
 * towards the next snapshot, as before: the old way, printed beside.
 */
interface Workload {
  readonly name: string;
  readonly steps: number;
  readonly bytesPerStep: number;
}

const WORKLOADS: readonly Workload[] = [
  { name: "chain: 10 nodes x 10 invocations, 200 B per node", steps: 100, bytesPerStep: 200 },
  { name: "growing: 200 supersteps appending 2 KB", steps: 200, bytesPerStep: 2048 },
];
const LONG_WORKLOAD: Workload = {
  name: `growing: ${LONG_GROWTH.steps} supersteps appending 2 KB`,
  steps: LONG_GROWTH.steps,
  bytesPerStep: 2048,
};
const SETTINGS = ["FULL", "NORMAL"] as const;
const ROUNDS = roundsFor(7, 3);
const THREAD = "thread-1";
const ACCUMULATING: ReadonlySet<string> = new Set(["log"]);

function payload(step: number, size: number): string {
  return `step ${step} `.padEnd(size, "abcdefghijklmnopqrstuvwxyz0123456789 ");
}

function stepWrites(step: number, size: number) {
  return [{ taskId: `task-${step}`, channel: "log", value: payload(step, size) }];
}

/**
 * The floor has no key: the cheapest append SQLite can do. The keyed floor is
 * the same INSERT into a table keyed by (thread, step), as any store that
 * must find a thread's rows is; it shows how much of the gap is the key alone.
 */
const FLOOR_TABLES = {
  floor: "CREATE TABLE steps (thread_id TEXT NOT NULL, step INTEGER NOT NULL, data TEXT NOT NULL)",
  keyed:
    "CREATE TABLE steps (thread_id TEXT NOT NULL, step INTEGER NOT NULL, data TEXT NOT NULL, " +
    "PRIMARY KEY (thread_id, step)) WITHOUT ROWID",
};

/** A side's run, with the time of each put. */
interface Run extends Sample {
  readonly intervals: readonly number[];
}

/** Times each of `steps` calls of `put`: the time per step, the bytes written, each step's time. */
async function measureSteps(steps: number, put: (step: number) => unknown): Promise<Run> {
  const intervals: number[] = [];
  const sample = await measure(steps, async () => {
    for (let step = 0; step < steps; step += 1) {
      const start = performance.now();
      await put(step);
      intervals.push(performance.now() - start);
    }
  });
  return { ...sample, intervals };
}

async function runFloor(
  file: string,
  synchronous: string,
  workload: Workload,
  table: keyof typeof FLOOR_TABLES,
): Promise<Run> {
  const db = new BetterSqlite3(file);
  db.pragma("journal_mode = WAL");
  db.pragma(`synchronous = ${synchronous}`);
  db.exec(FLOOR_TABLES[table]);
  const insert = db.prepare("INSERT INTO steps (thread_id, step, data) VALUES (?, ?, ?)");
  const run = await measureSteps(workload.steps, (step) =>
    insert.run(THREAD, step, JSON.stringify(stepWrites(step, workload.bytesPerStep))),
  );
  db.close();
  return run;
}

/** A load of the thread's log from a new instance, and its time (opening excluded). */
interface Load {
  readonly log: readonly string[];
  readonly ms: number;
}

/** The floor's load from a new connection: every row of the thread, in order, each parsed. */
function loadFloor(file: string, table: keyof typeof FLOOR_TABLES): Load {
  const db = new BetterSqlite3(file);
  try {
    const select = db.prepare(
      `SELECT data FROM steps WHERE thread_id = ? ORDER BY ${table === "floor" ? "rowid" : "step"}`,
    );
    const start = performance.now();
    const rows = select.all(THREAD) as { data: string }[];
    const log = rows.flatMap((row) =>
      (JSON.parse(row.data) as { value: string }[]).map((w) => w.value),
    );
    return { log, ms: performance.now() - start };
  } finally {
    db.close();
  }
}

async function runWaypoint(
  file: string,
  synchronous: "FULL" | "NORMAL",
  workload: Workload,
  { accumulating = true } = {},
): Promise<Run> {
  const checkpointer = new SqliteCheckpointer(file, { synchronous });
  const log: string[] = [];
  let head: CheckpointHeader | null = null;
  const run = await measureSteps(workload.steps, async (step) => {
    const writes = stepWrites(step, workload.bytesPerStep);
    log.push(writes[0]!.value);
    head = await checkpointer.put({
      checkpoint: {
        threadId: THREAD,
        step,
        channelVersions: { log: step + 1 },
        versionsSeen: { [`node-${step % 10}`]: { log: step } },
        next: [{ id: `task-${step + 1}`, node: `node-${(step + 1) % 10}`, triggers: ["log"] }],
        writes,
        metadata: { source: "loop", step },
      },
      parent: head,
      snapshot: () => ({ log: [...log] }),
      ...(accumulating ? { accumulating: ACCUMULATING } : {}),
    });
  });
  await checkpointer.close();
  return run;
}

/** Waypoint's load from a new checkpointer: the head, its base snapshot and the deltas since. */
async function loadWaypoint(file: string, synchronous: "FULL" | "NORMAL"): Promise<Load> {
  const checkpointer = new SqliteCheckpointer(file, { synchronous });
  try {
    const start = performance.now();
    const loaded = await checkpointer.get(THREAD);
    const base = (loaded?.base.values.log ?? []) as string[];
    const log = [
      ...base,
      ...(loaded?.deltas ?? []).flatMap((delta) =>
        delta.writes.filter((w) => w.channel === "log").map((w) => w.value as string),
      ),
    ];
    return { log, ms: performance.now() - start };
  } finally {
    await checkpointer.close();
  }
}

/** A side of this suite: how it writes the thread, and how a new instance loads it. */
interface Side {
  readonly name: string;
  run(file: string, synchronous: "FULL" | "NORMAL", workload: Workload): Promise<Run>;
  load(file: string, synchronous: "FULL" | "NORMAL"): Promise<Load> | Load;
}

const SIDES: readonly Side[] = [
  {
    name: "floor",
    run: (file, synchronous, workload) => runFloor(file, synchronous, workload, "floor"),
    load: (file) => loadFloor(file, "floor"),
  },
  {
    name: "keyed",
    run: (file, synchronous, workload) => runFloor(file, synchronous, workload, "keyed"),
    load: (file) => loadFloor(file, "keyed"),
  },
  { name: "waypoint", run: runWaypoint, load: loadWaypoint },
  {
    name: "old put",
    run: (file, synchronous, workload) =>
      runWaypoint(file, synchronous, workload, { accumulating: false }),
    load: loadWaypoint,
  },
];

/** New instances per side and round that load the thread (the 2,000-step workload only). */
const LOADS = 5;

/**
 * `rounds` runs of every side, each on a fresh file, the order rotated round
 * by round so that drift on a shared machine hits all alike; with `loads`,
 * each run's thread is then loaded from new instances and checked.
 */
async function measureSides(
  directory: string,
  synchronous: "FULL" | "NORMAL",
  workload: Workload,
  rounds: number,
  loads = 0,
): Promise<Map<string, LongRun[]>> {
  const results = new Map<string, LongRun[]>(SIDES.map((side) => [side.name, []]));
  const expected = Array.from({ length: workload.steps }, (_, step) =>
    payload(step, workload.bytesPerStep),
  );
  for (let round = 0; round < rounds; round += 1) {
    for (let i = 0; i < SIDES.length; i += 1) {
      const side = SIDES[(round + i) % SIDES.length]!;
      const file = join(directory, `${side.name.replace(" ", "-")}-${round}.db`);
      const run = await side.run(file, synchronous, workload);
      const times: number[] = [];
      for (let load = 0; load < loads; load += 1) {
        const { log, ms } = await side.load(file, synchronous);
        if (log.length !== expected.length || log.some((entry, n) => entry !== expected[n])) {
          throw new Error(
            `${side.name}: loaded ${log.length} entries, expected ${expected.length}`,
          );
        }
        times.push(ms);
      }
      for (const suffix of ["", "-wal", "-shm"]) rmSync(`${file}${suffix}`, { force: true });
      results.get(side.name)!.push({ ...run, ms: run.msPerStep * workload.steps, loads: times });
    }
  }
  return results;
}

export async function sqliteBenchmark(): Promise<string> {
  const directory = mkdtempSync(join(tmpdir(), "waypoint-bench-sqlite-"));
  const rows: string[][] = [
    [
      "workload",
      "sync",
      "floor ms/step",
      "keyed ms/step",
      "waypoint ms/step",
      "time ratio",
      "floor bytes",
      "keyed bytes",
      "waypoint bytes",
      "bytes ratio",
      "old put ms/step",
      "old put bytes",
      "old put bytes ratio",
    ],
  ];
  const long: string[] = [];
  try {
    for (const workload of WORKLOADS) {
      for (const synchronous of SETTINGS) {
        const runs = await measureSides(directory, synchronous, workload, ROUNDS);
        const ms = (side: string) => median(runs.get(side)!.map((s) => s.ms)) / workload.steps;
        const bytes = (side: string) => median(runs.get(side)!.map((s) => s.bytes));
        rows.push([
          workload.name,
          synchronous,
          ms("floor").toFixed(4),
          ms("keyed").toFixed(4),
          ms("waypoint").toFixed(4),
          ratio(ms("waypoint"), ms("floor")),
          formatBytes(bytes("floor")),
          formatBytes(bytes("keyed")),
          formatBytes(bytes("waypoint")),
          ratio(bytes("waypoint"), bytes("floor")),
          ms("old put").toFixed(4),
          formatBytes(bytes("old put")),
          ratio(bytes("old put"), bytes("floor")),
        ]);
        if (synchronous === "FULL") {
          const figure = workload.steps === 100 ? "(a) chain" : "growing 200";
          const sides = SIDES.map((side) => side.name);
          recordFigure(
            "sqlite",
            `${figure}: time`,
            "ms/step",
            sides.map((side) => [side, ms(side)]),
          );
          if (figure === "growing 200") {
            recordFigure(
              "sqlite",
              "growing 200: write(2) bytes",
              "bytes",
              sides.map((side) => [side, bytes(side)]),
            );
          }
        }
      }
    }
    for (const synchronous of SETTINGS) {
      const runs = await measureSides(
        directory,
        synchronous,
        LONG_WORKLOAD,
        LONG_GROWTH.rounds,
        LOADS,
      );
      long.push(
        longThreadTable({
          suite: "sqlite",
          bytesName: "write(2) bytes",
          loadName: `Waypoint's get() from a new checkpointer, the floors' SELECT of every row`,
          stepName: "one put or INSERT",
          runs,
          record: synchronous === "FULL",
          note: `synchronous = ${synchronous}; old put = without accumulating, as before 60e9214`,
        }),
      );
    }
  } finally {
    rmSync(directory, { recursive: true, force: true });
  }
  return [
    `SQLite: Waypoint vs one raw INSERT per superstep, in WAL mode with the same synchronous setting`,
    `(median of ${ROUNDS} rounds; ratios are Waypoint / floor; target <= 2x; bytes = write(2) bytes, WAL and checkpoints;`,
    ` waypoint passes accumulating: {log} as the runtime does, old put does not: the put before 60e9214)`,
    table(rows),
    "",
    ...long.flatMap((text) => [text, ""]),
  ]
    .join("\n")
    .trimEnd();
}
