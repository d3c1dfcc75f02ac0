import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import BetterSqlite3 from "better-sqlite3";
import type { CheckpointHeader } from "@waypoint/checkpoint";
import { SqliteCheckpointer } from "@waypoint/checkpoint-sqlite";
import { type Sample, formatBytes, measure, median, table } from "./measure.js";

/**
 * Waypoint's SQLite checkpointer against a floor: one raw single-row INSERT
 * of the superstep's writes (JSON) per superstep, in its own transaction, on
 * a file with the same settings. Target: at most 2x on time and on bytes.
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
const SETTINGS = ["FULL", "NORMAL"] as const;
const ROUNDS = 7;

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

async function runFloor(
  file: string,
  synchronous: string,
  workload: Workload,
  table: keyof typeof FLOOR_TABLES,
): Promise<Sample> {
  const db = new BetterSqlite3(file);
  db.pragma("journal_mode = WAL");
  db.pragma(`synchronous = ${synchronous}`);
  db.exec(FLOOR_TABLES[table]);
  const insert = db.prepare("INSERT INTO steps (thread_id, step, data) VALUES (?, ?, ?)");
  const sample = await measure(workload.steps, () => {
    for (let step = 0; step < workload.steps; step += 1) {
      insert.run("thread-1", step, JSON.stringify(stepWrites(step, workload.bytesPerStep)));
    }
  });
  db.close();
  return sample;
}

async function runWaypoint(
  file: string,
  synchronous: "FULL" | "NORMAL",
  workload: Workload,
): Promise<Sample> {
  const checkpointer = new SqliteCheckpointer(file, { synchronous });
  const log: string[] = [];
  let head: CheckpointHeader | null = null;
  const sample = await measure(workload.steps, async () => {
    for (let step = 0; step < workload.steps; step += 1) {
      const writes = stepWrites(step, workload.bytesPerStep);
      log.push(writes[0]!.value);
      head = await checkpointer.put({
        checkpoint: {
          threadId: "thread-1",
          step,
          channelVersions: { log: step + 1 },
          versionsSeen: { [`node-${step % 10}`]: { log: step } },
          next: [{ id: `task-${step + 1}`, node: `node-${(step + 1) % 10}`, triggers: ["log"] }],
          writes,
          metadata: { source: "loop", step },
        },
        parent: head,
        snapshot: () => ({ log: [...log] }),
      });
    }
  });
  await checkpointer.close();
  return sample;
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
    ],
  ];
  let file = 0;
  try {
    for (const workload of WORKLOADS) {
      for (const synchronous of SETTINGS) {
        const floor: Sample[] = [];
        const keyed: Sample[] = [];
        const waypoint: Sample[] = [];
        for (let round = 0; round < ROUNDS; round += 1) {
          // Rotate the order so that drift on a shared machine hits all three alike.
          const runs = [
            async () =>
              floor.push(
                await runFloor(join(directory, `${++file}.db`), synchronous, workload, "floor"),
              ),
            async () =>
              keyed.push(
                await runFloor(join(directory, `${++file}.db`), synchronous, workload, "keyed"),
              ),
            async () =>
              waypoint.push(
                await runWaypoint(join(directory, `${++file}.db`), synchronous, workload),
              ),
          ];
          for (let i = 0; i < runs.length; i += 1) await runs[(round + i) % runs.length]!();
        }
        const ms = (samples: Sample[]) => median(samples.map((s) => s.msPerStep));
        const bytes = (samples: Sample[]) => median(samples.map((s) => s.bytes));
        rows.push([
          workload.name,
          synchronous,
          ms(floor).toFixed(4),
          ms(keyed).toFixed(4),
          ms(waypoint).toFixed(4),
          `${(ms(waypoint) / ms(floor)).toFixed(2)}x`,
          formatBytes(bytes(floor)),
          formatBytes(bytes(keyed)),
          formatBytes(bytes(waypoint)),
          `${(bytes(waypoint) / bytes(floor)).toFixed(2)}x`,
        ]);
      }
    }
  } finally {
    rmSync(directory, { recursive: true, force: true });
  }
  return [
    `SQLite: Waypoint vs one raw INSERT per superstep, in WAL mode with the same synchronous setting`,
    `(median of ${ROUNDS} rounds; ratios are Waypoint / floor; target <= 2x; bytes = write(2) bytes, WAL and checkpoints)`,
    table(rows),
  ].join("\n");
}
