import type { Database } from "better-sqlite3";
import { UnsupportedFormatVersionError } from "@waypoint/checkpoint";

/**
 * Versioned, ordered migrations. The file's `user_version` is the schema
 * version. Migrations run inside BEGIN IMMEDIATE, which takes SQLite's single
 * write lock, and re-read the version inside it: two processes opening one
 * file at once both end up at the latest schema, and each step runs once.
 *
 * Checkpoints are a WITHOUT ROWID table keyed by (thread, namespace, id): a
 * superstep's insert touches one B-tree, and the head is the last key of its
 * thread, so no second index or heads table is written per superstep.
 */
const MIGRATIONS: readonly string[] = [
  `CREATE TABLE waypoint_checkpoints (
     thread_id TEXT NOT NULL,
     namespace TEXT NOT NULL,
     id TEXT NOT NULL,
     parent_id TEXT,
     step INTEGER NOT NULL,
     created_at INTEGER NOT NULL,
     format_version INTEGER NOT NULL,
     base_id TEXT NOT NULL,
     chain_length INTEGER NOT NULL,
     chain_bytes INTEGER NOT NULL,
     snapshot_bytes INTEGER NOT NULL,
     next_count INTEGER NOT NULL,
     metadata TEXT NOT NULL,
     header TEXT NOT NULL,
     writes TEXT NOT NULL,
     snapshot TEXT,
     PRIMARY KEY (thread_id, namespace, id)
   ) WITHOUT ROWID;
   CREATE TABLE waypoint_pending_writes (
     thread_id TEXT NOT NULL,
     namespace TEXT NOT NULL,
     checkpoint_id TEXT NOT NULL,
     task_id TEXT NOT NULL,
     idx INTEGER NOT NULL,
     format_version INTEGER NOT NULL,
     channel TEXT NOT NULL,
     value TEXT NOT NULL,
     PRIMARY KEY (thread_id, namespace, checkpoint_id, task_id, idx)
   ) WITHOUT ROWID;`,
  // The run queue. Ids are time-ordered, so id order is creation order. Times
  // are milliseconds since the epoch.
  `CREATE TABLE waypoint_runs (
     id TEXT PRIMARY KEY NOT NULL,
     thread_id TEXT NOT NULL,
     graph TEXT NOT NULL,
     input TEXT NOT NULL,
     status TEXT NOT NULL,
     strategy TEXT NOT NULL,
     attempts INTEGER NOT NULL,
     max_attempts INTEGER NOT NULL,
     token INTEGER NOT NULL,
     worker_id TEXT,
     lease_expires_at INTEGER,
     control TEXT,
     error TEXT,
     metadata TEXT NOT NULL,
     created_at INTEGER NOT NULL,
     updated_at INTEGER NOT NULL,
     started_at INTEGER,
     ended_at INTEGER
   );
   -- claim: the oldest pending run, and running runs whose lease lapsed
   CREATE INDEX waypoint_runs_by_status ON waypoint_runs (status, id);
   -- claim and create: a thread's active runs, small because ended runs leave it
   CREATE INDEX waypoint_runs_active_by_thread ON waypoint_runs (thread_id, id)
     WHERE status IN ('pending', 'running', 'paused');
   -- list by thread
   CREATE INDEX waypoint_runs_by_thread ON waypoint_runs (thread_id, id);`,
];

/**
 * The schema version this build migrates to (its number of migrations); the
 * package's tests compare a database's recorded version with it.
 *
 * @internal
 */
export const SCHEMA_VERSION = MIGRATIONS.length;

export function migrate(db: Database, file: string): void {
  const version = () => db.pragma("user_version", { simple: true }) as number;
  const check = (found: number) => {
    if (found > SCHEMA_VERSION) {
      throw new UnsupportedFormatVersionError(
        `The checkpoint database ${file}`,
        found,
        SCHEMA_VERSION,
      );
    }
  };
  check(version());
  if (version() === SCHEMA_VERSION) return;
  db.transaction(() => {
    const found = version();
    check(found);
    for (let next = found; next < SCHEMA_VERSION; next += 1) db.exec(MIGRATIONS[next]!);
    db.pragma(`user_version = ${SCHEMA_VERSION}`);
  }).immediate();
}

const CHECKPOINT_COLUMNS = `thread_id AS threadId, namespace, id, parent_id AS parentId, step,
  created_at AS createdAt, format_version AS formatVersion, base_id AS baseId,
  chain_length AS chainLength, chain_bytes AS chainBytes, snapshot_bytes AS snapshotBytes,
  next_count AS nextCount, metadata, header`;
const ALL_COLUMNS = `${CHECKPOINT_COLUMNS}, writes, snapshot`;
/** What a load reads of the records before its target (EncodedLink). */
const LINK_COLUMNS = `format_version AS formatVersion, thread_id AS threadId, id, parent_id AS parentId,
  step, writes, snapshot`;
const PENDING_COLUMNS = `thread_id AS threadId, namespace, checkpoint_id AS checkpointId,
  task_id AS taskId, idx, format_version AS formatVersion, channel, value`;

const INSERT_COLUMNS = `thread_id, namespace, id, parent_id, step, created_at, format_version, base_id,
  chain_length, chain_bytes, snapshot_bytes, next_count, metadata, header, writes, snapshot`;
const INSERT_VALUES = `@threadId, @namespace, @id, @parentId, @step, @createdAt, @formatVersion, @baseId,
  @chainLength, @chainBytes, @snapshotBytes, @nextCount, @metadata, @header, @writes, @snapshot`;

/** Every statement the checkpointer runs; prepared once per connection. */
export const SQL = {
  insertCheckpoint: `INSERT INTO waypoint_checkpoints (${INSERT_COLUMNS}) VALUES (${INSERT_VALUES})`,
  // The whole put is this one statement. A write statement takes SQLite's write
  // lock before it reads, so the head check and the insert are atomic across
  // processes; no row is inserted when the head moved or the parent is missing.
  putCheckpoint: `INSERT INTO waypoint_checkpoints (${INSERT_COLUMNS}) SELECT ${INSERT_VALUES}
    WHERE (SELECT id FROM waypoint_checkpoints WHERE thread_id = @threadId AND namespace = @namespace
           ORDER BY id DESC LIMIT 1) IS @expectedHeadId
      AND (@parentId IS NULL OR @parentId IS @expectedHeadId OR EXISTS (SELECT 1 FROM waypoint_checkpoints
           WHERE thread_id = @threadId AND namespace = @namespace AND id = @parentId))`,
  headId: `SELECT id FROM waypoint_checkpoints WHERE thread_id = ? AND namespace = ? ORDER BY id DESC LIMIT 1`,
  exists: `SELECT 1 FROM waypoint_checkpoints WHERE thread_id = ? AND namespace = ? AND id = ?`,
  head: `SELECT ${ALL_COLUMNS} FROM waypoint_checkpoints WHERE thread_id = ? AND namespace = ? ORDER BY id DESC LIMIT 1`,
  byId: `SELECT ${ALL_COLUMNS} FROM waypoint_checkpoints WHERE thread_id = ? AND namespace = ? AND id = ?`,
  // Checkpoints sharing a base snapshot form one unbranched chain (forks take
  // a snapshot), so the target's chain is a range of the primary key. Headers
  // only from the target's anchor on (@anchor): its header may be a delta of theirs.
  segment: `SELECT ${LINK_COLUMNS}, CASE WHEN chain_length >= @anchor THEN header END AS header
    FROM waypoint_checkpoints
    WHERE thread_id = @threadId AND namespace = @namespace AND id >= @baseId AND id < @id AND base_id = @baseId`,
  pending: `SELECT ${PENDING_COLUMNS} FROM waypoint_pending_writes
    WHERE thread_id = ? AND namespace = ? AND checkpoint_id = ?`,
  upsertPending: `INSERT INTO waypoint_pending_writes (thread_id, namespace, checkpoint_id, task_id, idx, format_version, channel, value)
    VALUES (@threadId, @namespace, @checkpointId, @taskId, @idx, @formatVersion, @channel, @value)
    ON CONFLICT DO UPDATE SET format_version = excluded.format_version, channel = excluded.channel, value = excluded.value`,
  // A page of headers, read with the ANCHOR_EVERY - 1 rows after it: the
  // older records its delta headers decode from, unless forks interleave.
  listPage: `SELECT ${CHECKPOINT_COLUMNS} FROM waypoint_checkpoints
    WHERE thread_id = ? AND namespace = ? AND id < ? ORDER BY id DESC LIMIT ?`,
  // One record's header, for a delta whose parent the page did not hold.
  headerRow: `SELECT ${CHECKPOINT_COLUMNS} FROM waypoint_checkpoints WHERE thread_id = ? AND namespace = ? AND id = ?`,
  // A skip scan: the next thread id after a cursor, by one index seek.
  nextThread: `SELECT thread_id AS threadId FROM waypoint_checkpoints WHERE thread_id > ? ORDER BY thread_id LIMIT 1`,
  rootHead: `SELECT id, step, created_at AS createdAt, next_count AS nextCount FROM waypoint_checkpoints
    WHERE thread_id = ? AND namespace = '' ORDER BY id DESC LIMIT 1`,
  pendingChannels: `SELECT channel FROM waypoint_pending_writes WHERE thread_id = ? AND namespace = '' AND checkpoint_id = ?`,
  threadExists: `SELECT 1 FROM waypoint_checkpoints WHERE thread_id = ? LIMIT 1`,
  deleteCheckpoints: `DELETE FROM waypoint_checkpoints WHERE thread_id = ?`,
  deletePending: `DELETE FROM waypoint_pending_writes WHERE thread_id = ?`,
  namespaces: `SELECT DISTINCT thread_id AS threadId, namespace FROM waypoint_checkpoints WHERE thread_id = ?`,
  allNamespaces: `SELECT DISTINCT thread_id AS threadId, namespace FROM waypoint_checkpoints`,
  pruneCandidates: `SELECT id, parent_id AS parentId, base_id AS baseId, created_at AS createdAt
    FROM waypoint_checkpoints WHERE thread_id = ? AND namespace = ?`,
  deleteOne: `DELETE FROM waypoint_checkpoints WHERE thread_id = ? AND namespace = ? AND id = ?`,
  deleteOnePending: `DELETE FROM waypoint_pending_writes WHERE thread_id = ? AND namespace = ? AND checkpoint_id = ?`,
  copyCheckpoints: `INSERT INTO waypoint_checkpoints SELECT @to, namespace, id, parent_id, step, created_at, format_version,
      base_id, chain_length, chain_bytes, snapshot_bytes, next_count, metadata, header, writes, snapshot
    FROM waypoint_checkpoints WHERE thread_id = @from`,
  copyPending: `INSERT INTO waypoint_pending_writes SELECT @to, namespace, checkpoint_id, task_id, idx, format_version, channel, value
    FROM waypoint_pending_writes WHERE thread_id = @from`,
  exportCheckpoints: `SELECT ${ALL_COLUMNS} FROM waypoint_checkpoints WHERE thread_id = ? ORDER BY namespace, id`,
  exportPending: `SELECT ${PENDING_COLUMNS} FROM waypoint_pending_writes WHERE thread_id = ?`,
} as const;

const RUN_COLUMNS = `id, thread_id AS threadId, graph, input, status, strategy, attempts,
  max_attempts AS maxAttempts, token, worker_id AS workerId, lease_expires_at AS leaseExpiresAt,
  control, error, metadata, created_at AS createdAt, updated_at AS updatedAt,
  started_at AS startedAt, ended_at AS endedAt`;
/** Written out in full where the partial index on a thread's active runs should serve. */
const ACTIVE = `status IN ('pending', 'running', 'paused')`;
const IN_STATUSES = `status IN (SELECT value FROM json_each(@statuses))`;

/**
 * Every statement of the run queue. SqliteRunStore decides in JavaScript,
 * inside one IMMEDIATE transaction per operation, so these stay simple reads
 * and updates by id.
 */
export const RUN_SQL = {
  insert: `INSERT INTO waypoint_runs (id, thread_id, graph, input, status, strategy, attempts,
      max_attempts, token, metadata, created_at, updated_at)
    VALUES (@id, @threadId, @graph, @input, 'pending', @strategy, 0, @maxAttempts, 0, @metadata, @now, @now)
    RETURNING ${RUN_COLUMNS}`,
  byId: `SELECT ${RUN_COLUMNS} FROM waypoint_runs WHERE id = ?`,
  fenceState: `SELECT token, status, worker_id AS workerId, control FROM waypoint_runs WHERE id = ?`,
  activeOfThread: `SELECT id, status, control FROM waypoint_runs
    WHERE thread_id = ? AND ${ACTIVE} ORDER BY id`,
  // Claim looks at the oldest pending run whose thread has no earlier active
  // run, and the oldest running run whose lease lapsed, and takes the older.
  // INDEXED BY: without ANALYZE statistics SQLite would pick the full
  // per-thread index and walk every ended run of a long-lived thread.
  oldestPending: `SELECT id, attempts, max_attempts AS maxAttempts FROM waypoint_runs AS run
    WHERE status = 'pending' AND NOT EXISTS (SELECT 1 FROM waypoint_runs AS earlier
      INDEXED BY waypoint_runs_active_by_thread WHERE earlier.thread_id = run.thread_id AND earlier.${ACTIVE} AND earlier.id < run.id)
    ORDER BY id LIMIT 1`,
  oldestLapsed: `SELECT id, attempts, max_attempts AS maxAttempts FROM waypoint_runs
    WHERE status = 'running' AND lease_expires_at <= ? ORDER BY id LIMIT 1`,
  take: `UPDATE waypoint_runs SET status = 'running', attempts = attempts + 1, token = token + 1,
      worker_id = @workerId, lease_expires_at = @leaseExpiresAt,
      started_at = COALESCE(started_at, @now), updated_at = @now
    WHERE id = @id RETURNING ${RUN_COLUMNS}`,
  // Ends a run, or pauses it when @endedAt is null.
  stop: `UPDATE waypoint_runs SET status = @status, error = COALESCE(@error, error), control = NULL,
      worker_id = NULL, lease_expires_at = NULL, ended_at = @endedAt, updated_at = @now
    WHERE id = @id RETURNING ${RUN_COLUMNS}`,
  setStatus: `UPDATE waypoint_runs SET status = @status, updated_at = @now
    WHERE id = @id RETURNING ${RUN_COLUMNS}`,
  setControl: `UPDATE waypoint_runs SET control = @control, updated_at = @now
    WHERE id = @id RETURNING ${RUN_COLUMNS}`,
  renew: `UPDATE waypoint_runs SET lease_expires_at = @leaseExpiresAt, updated_at = @now
    WHERE id = @id RETURNING lease_expires_at AS leaseExpiresAt, control`,
  release: `UPDATE waypoint_runs SET status = 'pending', attempts = attempts - 1, worker_id = NULL,
      lease_expires_at = NULL, updated_at = @now
    WHERE id = @id RETURNING ${RUN_COLUMNS}`,
  // Retention: one batch of ended runs that ended before @cutoff (ms). SQLite
  // has no DELETE ... LIMIT by default, hence the subquery by id.
  pruneBatch: `DELETE FROM waypoint_runs WHERE id IN (SELECT id FROM waypoint_runs
    WHERE status IN ('succeeded', 'failed', 'cancelled', 'interrupted') AND ended_at < @cutoff
    LIMIT @batch)`,
  // "\uffff" as @before sorts after every id: the first page.
  listAll: `SELECT ${RUN_COLUMNS} FROM waypoint_runs WHERE id < @before ORDER BY id DESC LIMIT @limit`,
  listByStatus: `SELECT ${RUN_COLUMNS} FROM waypoint_runs WHERE ${IN_STATUSES} AND id < @before
    ORDER BY id DESC LIMIT @limit`,
  listByThread: `SELECT ${RUN_COLUMNS} FROM waypoint_runs
    WHERE thread_id = @threadId AND id < @before AND (@statuses IS NULL OR ${IN_STATUSES})
    ORDER BY id DESC LIMIT @limit`,
} as const;
