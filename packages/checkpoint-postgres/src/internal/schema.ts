import type { PoolClient } from "pg";
import { UnsupportedFormatVersionError } from "@waypoint/checkpoint";

/**
 * Versioned, ordered migrations; `{schema}` is replaced by the quoted schema
 * name. Every index leads with the thread, so the tables can later be
 * partitioned by thread.
 */
const MIGRATIONS: readonly string[] = [
  `CREATE TABLE {schema}.checkpoints (
     thread_id text NOT NULL,
     namespace text NOT NULL,
     id text NOT NULL,
     parent_id text,
     step integer NOT NULL,
     created_at bigint NOT NULL,
     format_version smallint NOT NULL,
     base_id text NOT NULL,
     chain_length integer NOT NULL,
     chain_bytes bigint NOT NULL,
     snapshot_bytes bigint NOT NULL,
     next_count integer NOT NULL,
     metadata jsonb NOT NULL,
     header text NOT NULL,
     writes text NOT NULL,
     snapshot text,
     PRIMARY KEY (thread_id, namespace, id)
   );
   CREATE TABLE {schema}.heads (
     thread_id text NOT NULL,
     namespace text NOT NULL,
     head_id text NOT NULL,
     PRIMARY KEY (thread_id, namespace)
   );
   CREATE TABLE {schema}.pending_writes (
     thread_id text NOT NULL,
     namespace text NOT NULL,
     checkpoint_id text NOT NULL,
     task_id text NOT NULL,
     idx integer NOT NULL,
     format_version smallint NOT NULL,
     channel text NOT NULL,
     value text NOT NULL,
     PRIMARY KEY (thread_id, namespace, checkpoint_id, task_id, idx)
   );`,
  `CREATE TABLE {schema}.thread_ttl (
     thread_id text PRIMARY KEY,
     expires_at timestamptz NOT NULL
   );
   CREATE INDEX thread_ttl_expires_at ON {schema}.thread_ttl (expires_at);`,
  // The run queue. Ids sort by creation time (byte order, hence COLLATE "C").
  // Claims walk runs_claimable in id order and probe runs_active for an earlier
  // active run of the same thread; runs_one_running makes a second running run
  // of a thread fail to commit, whatever race produced it. Heartbeats touch
  // no indexed column, so they can stay heap-only updates.
  `CREATE TABLE {schema}.runs (
     id text COLLATE "C" PRIMARY KEY,
     thread_id text NOT NULL,
     graph text NOT NULL,
     input text NOT NULL,
     status text NOT NULL CHECK (status IN
       ('pending', 'running', 'paused', 'interrupted', 'succeeded', 'failed', 'cancelled')),
     strategy text NOT NULL,
     attempts integer NOT NULL,
     max_attempts integer NOT NULL,
     token integer NOT NULL,
     claim_id uuid,
     worker_id text,
     lease_expires_at timestamptz,
     control text,
     error jsonb,
     metadata jsonb NOT NULL,
     created_at timestamptz NOT NULL,
     updated_at timestamptz NOT NULL,
     started_at timestamptz,
     ended_at timestamptz
   );
   CREATE INDEX runs_by_thread ON {schema}.runs (thread_id, id);
   CREATE INDEX runs_by_status ON {schema}.runs (status, id);
   CREATE INDEX runs_claimable ON {schema}.runs (id) WHERE status IN ('pending', 'running');
   CREATE INDEX runs_active ON {schema}.runs (thread_id, id)
     WHERE status IN ('pending', 'running', 'paused');
   CREATE UNIQUE INDEX runs_one_running ON {schema}.runs (thread_id) WHERE status = 'running';`,
  // Retention (RunStore.prune) deletes ended runs oldest end first, a batch
  // per statement: each batch is a range scan of this index, where without it
  // each would scan the whole table. Only ended runs are in it, and a run
  // enters it once, when it ends.
  `CREATE INDEX runs_ended ON {schema}.runs (ended_at)
     WHERE status IN ('interrupted', 'succeeded', 'failed', 'cancelled');`,
];

/**
 * The schema version this build migrates to (its number of migrations); the
 * package's tests compare a database's recorded version with it.
 *
 * @internal
 */
export const SCHEMA_VERSION = MIGRATIONS.length;

/** A fixed key for pg_advisory_xact_lock, so two processes never migrate at once. */
const MIGRATION_LOCK = 0x57a79017;

export function quoteIdentifier(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

/**
 * Brings the schema to the latest version. Runs in one transaction under an
 * advisory lock: a second process calling it at the same time waits, then
 * finds the work done.
 */
/** A migration's own client-side bound (pg ignores a query_timeout of 0). */
const MIGRATION_QUERY = { query_timeout: 60 * 60_000 };

export async function migrate(client: PoolClient, schema: string): Promise<void> {
  const quoted = quoteIdentifier(schema);
  await client.query("BEGIN");
  try {
    // Migrations are exempt from the statement timeouts: they may wait for
    // another process's migration, and an index build may take minutes.
    await client.query("SET LOCAL statement_timeout = 0");
    await client.query({
      ...MIGRATION_QUERY,
      text: "SELECT pg_advisory_xact_lock($1)",
      values: [MIGRATION_LOCK],
    });
    await client.query(`CREATE SCHEMA IF NOT EXISTS ${quoted}`);
    await client.query(
      `CREATE TABLE IF NOT EXISTS ${quoted}.migrations (version integer PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())`,
    );
    const { rows } = await client.query<{ version: number | null }>(
      `SELECT max(version) AS version FROM ${quoted}.migrations`,
    );
    const current = rows[0]?.version ?? 0;
    if (current > SCHEMA_VERSION) {
      throw new UnsupportedFormatVersionError(
        `The Waypoint schema ${quoted}`,
        current,
        SCHEMA_VERSION,
      );
    }
    for (let version = current + 1; version <= SCHEMA_VERSION; version += 1) {
      await client.query({
        ...MIGRATION_QUERY,
        text: MIGRATIONS[version - 1]!.replaceAll("{schema}", quoted),
      });
      await client.query(`INSERT INTO ${quoted}.migrations (version) VALUES ($1)`, [version]);
    }
    await client.query("COMMIT");
  } catch (error) {
    await client.query("ROLLBACK");
    throw error;
  }
}
