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
];

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
  // a snapshot), so the target's chain is a range of the primary key.
  segment: `SELECT ${ALL_COLUMNS} FROM waypoint_checkpoints
    WHERE thread_id = @threadId AND namespace = @namespace AND id >= @baseId AND id < @id AND base_id = @baseId`,
  pending: `SELECT ${PENDING_COLUMNS} FROM waypoint_pending_writes
    WHERE thread_id = ? AND namespace = ? AND checkpoint_id = ?`,
  upsertPending: `INSERT INTO waypoint_pending_writes (thread_id, namespace, checkpoint_id, task_id, idx, format_version, channel, value)
    VALUES (@threadId, @namespace, @checkpointId, @taskId, @idx, @formatVersion, @channel, @value)
    ON CONFLICT DO UPDATE SET format_version = excluded.format_version, channel = excluded.channel, value = excluded.value`,
  listPage: `SELECT ${CHECKPOINT_COLUMNS} FROM waypoint_checkpoints
    WHERE thread_id = ? AND namespace = ? AND id < ? ORDER BY id DESC LIMIT ?`,
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
