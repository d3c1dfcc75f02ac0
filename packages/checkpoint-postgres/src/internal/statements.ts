import { ANCHOR_EVERY } from "@waypoint/checkpoint/backend";

/** The SQL the checkpointer runs, for one schema. Each put is one statement. */

function columns(prefix: string, withPayloads: boolean): string {
  const p = prefix === "" ? "" : `${prefix}.`;
  const header = `${p}thread_id AS "threadId", ${p}namespace, ${p}id, ${p}parent_id AS "parentId", ${p}step,
    ${p}created_at::float8 AS "createdAt", ${p}format_version AS "formatVersion", ${p}base_id AS "baseId",
    ${p}chain_length AS "chainLength", ${p}chain_bytes::float8 AS "chainBytes",
    ${p}snapshot_bytes::float8 AS "snapshotBytes", ${p}next_count AS "nextCount", ${p}metadata::text AS metadata,
    ${p}header`;
  return withPayloads ? `${header}, ${p}writes, ${p}snapshot` : header;
}

const INSERT_COLUMNS = `thread_id, namespace, id, parent_id, step, created_at, format_version, base_id,
  chain_length, chain_bytes, snapshot_bytes, next_count, metadata, header, writes, snapshot`;

/**
 * The put's statements come in two shapes (a thread's first checkpoint, or a
 * move of its head), and carry the TTL upsert only when TTLs are on: each
 * plan then holds only what it runs, which PostgreSQL and the driver pay for
 * on every superstep (measured: the one statement with every case cost more).
 */
export function statements(s: string, withTtl: boolean) {
  // The expiry moves in the put's own statement, when `head` moved; `$n` is the TTL in seconds.
  const ttl = (head: string, n: number) =>
    withTtl
      ? `, ttl AS (
        INSERT INTO ${s}.thread_ttl (thread_id, expires_at)
        SELECT $1, now() + $${n}::float8 * interval '1 second' WHERE EXISTS (SELECT 1 FROM ${head})
        ON CONFLICT (thread_id) DO UPDATE SET expires_at = EXCLUDED.expires_at
      )`
      : "";
  const insertWhere = (head: string) => `INSERT INTO ${s}.checkpoints (${INSERT_COLUMNS})
      SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13::jsonb, $14, $15, $16
      WHERE EXISTS (SELECT 1 FROM ${head})`;
  // A fenced write reads its run (`$n` id, `$n+1` token) FOR SHARE: a claim skips
  // the row and a finish waits, so the run cannot change between the check
  // and the commit. It returns the run's state even when nothing was written.
  const fence = (n: number) => `fence AS MATERIALIZED (
        SELECT token, status, control, worker_id FROM ${s}.runs WHERE id = $${n}::text FOR SHARE
      )`;
  const admitted = (n: number) =>
    `EXISTS (SELECT 1 FROM fence WHERE token = $${n + 1}::int AND status = 'running')`;
  const fenceState = `SELECT (SELECT count(*) FROM written)::int AS written,
        f.token, f.status, f.control, f.worker_id AS "workerId"
      FROM (VALUES (0)) AS one (x) LEFT JOIN fence f ON true`;
  const pendingUpsert = (admit: string) => `INSERT INTO ${s}.pending_writes
        (thread_id, namespace, checkpoint_id, task_id, idx, format_version, channel, value)
      SELECT $1, $2, $3, w.task_id, w.idx, w.format_version, w.channel, w.value
      FROM unnest($4::text[], $5::int[], $6::int[], $7::text[], $8::text[])
        AS w(task_id, idx, format_version, channel, value)
      WHERE EXISTS (SELECT 1 FROM ${s}.checkpoints WHERE thread_id = $1 AND namespace = $2 AND id = $3)${admit}
      ON CONFLICT (thread_id, namespace, checkpoint_id, task_id, idx) DO UPDATE
        SET format_version = EXCLUDED.format_version, channel = EXCLUDED.channel, value = EXCLUDED.value`;
  const firstFence = withTtl ? 18 : 17;
  const nextFence = withTtl ? 19 : 18;
  const pendingJson = `(SELECT coalesce(json_agg(json_build_object('taskId', p.task_id, 'idx', p.idx,
      'formatVersion', p.format_version, 'channel', p.channel, 'value', p.value)), '[]'::json)
    FROM ${s}.pending_writes p WHERE p.thread_id = $1 AND p.namespace = $2 AND p.checkpoint_id = t.id)`;
  // The target checkpoint, the rows of its chain back to its base snapshot
  // (one unbranched range of the primary key), and its pending writes: one query.
  // The rows before the target give only what a load needs of them (EncodedLink): a
  // chain can be thousands of rows long now that a growing list is not rewritten.
  // Headers come from the target's anchor on: its header may be a delta of theirs.
  const targetOnly = (column: string, alias: string) =>
    `CASE WHEN c.id = t.id THEN ${column} END AS ${alias}`;
  const load = (target: string) => `WITH t AS (${target})
    SELECT c.thread_id AS "threadId", c.id, c.parent_id AS "parentId", c.step,
      c.format_version AS "formatVersion", c.writes, c.snapshot,
      ${targetOnly("c.namespace", "namespace")}, ${targetOnly("c.created_at::float8", '"createdAt"')},
      ${targetOnly("c.base_id", '"baseId"')}, ${targetOnly("c.chain_length", '"chainLength"')},
      ${targetOnly("c.chain_bytes::float8", '"chainBytes"')},
      ${targetOnly("c.snapshot_bytes::float8", '"snapshotBytes"')},
      ${targetOnly("c.next_count", '"nextCount"')}, ${targetOnly("c.metadata::text", "metadata")},
      CASE WHEN c.chain_length >= t.chain_length - t.chain_length % ${ANCHOR_EVERY} THEN c.header END AS header,
      (c.id = t.id) AS "isTarget",
      CASE WHEN c.id = t.id THEN ${pendingJson} END AS pending
    FROM t JOIN ${s}.checkpoints c
      ON c.thread_id = $1 AND c.namespace = $2 AND c.id >= t.base_id AND c.id <= t.id AND c.base_id = t.base_id`;
  // Several puts of distinct threads in one statement (group commit): each
  // keeps its own head check, parent check, fence and TTL, and only those
  // that pass are written. `ord` numbers the puts; one row per put comes back.
  const batchInput = (fenced: boolean) => `b AS MATERIALIZED (
        SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::int[], $6::bigint[],
          $7::int[], $8::text[], $9::int[], $10::bigint[], $11::bigint[], $12::int[], $13::text[],
          $14::text[], $15::text[], $16::text[], $17::text[]${fenced ? ", $18::text[], $19::int[]" : ""})
          WITH ORDINALITY AS b (thread_id, namespace, id, parent_id, step, created_at, format_version,
            base_id, chain_length, chain_bytes, snapshot_bytes, next_count, metadata, header, writes,
            snapshot, expected, ${fenced ? "run_id, token, " : ""}ord)
      )`;
  const putBatch = (fenced: boolean) => {
    const n = fenced ? 20 : 18;
    const admitted = fenced
      ? `, fence AS MATERIALIZED (
        SELECT b.ord, r.token, r.status, r.control, r.worker_id FROM b JOIN ${s}.runs r ON r.id = b.run_id
        FOR SHARE OF r
      ), a AS MATERIALIZED (
        SELECT b.* FROM b WHERE b.run_id IS NULL
          OR EXISTS (SELECT 1 FROM fence f WHERE f.ord = b.ord AND f.token = b.token AND f.status = 'running')
      )`
      : "";
    const from = fenced ? "a" : "b";
    const ttlUpsert = withTtl
      ? `, ttl AS (
        INSERT INTO ${s}.thread_ttl (thread_id, expires_at)
        SELECT thread_id, now() + $${n}::float8 * interval '1 second' FROM won
        ON CONFLICT (thread_id) DO UPDATE SET expires_at = EXCLUDED.expires_at
      )`
      : "";
    return `WITH ${batchInput(fenced)}${admitted}, created AS (
        INSERT INTO ${s}.heads (thread_id, namespace, head_id)
        SELECT thread_id, namespace, id FROM ${from} WHERE expected IS NULL AND parent_id IS NULL
        RETURNING thread_id, namespace
      ), moved AS (
        UPDATE ${s}.heads h SET head_id = x.id FROM ${from} x
        WHERE x.expected IS NOT NULL AND h.thread_id = x.thread_id AND h.namespace = x.namespace
          AND h.head_id = x.expected
          AND (x.parent_id IS NULL OR x.parent_id = x.expected OR EXISTS (SELECT 1 FROM ${s}.checkpoints c
            WHERE c.thread_id = x.thread_id AND c.namespace = x.namespace AND c.id = x.parent_id))
        RETURNING x.ord
      ), won AS MATERIALIZED (
        SELECT * FROM b WHERE ord IN (SELECT ord FROM moved)
          OR (expected IS NULL AND (thread_id, namespace) IN (SELECT thread_id, namespace FROM created))
      ), written AS (
        INSERT INTO ${s}.checkpoints (${INSERT_COLUMNS})
        SELECT thread_id, namespace, id, parent_id, step, created_at, format_version, base_id, chain_length,
          chain_bytes, snapshot_bytes, next_count, metadata::jsonb, header, writes, snapshot
        FROM won
      )${ttlUpsert}
      SELECT b.ord IN (SELECT ord FROM won) AS written${
        fenced
          ? `, f.token, f.status, f.control, f.worker_id AS "workerId"
      FROM b LEFT JOIN fence f ON f.ord = b.ord`
          : " FROM b"
      } ORDER BY b.ord`;
  };
  return {
    /**
     * A thread's first checkpoint: creates the head and inserts the
     * checkpoint, in one statement. If another writer created the head
     * first, the statement fails on the heads' key and nothing is inserted
     * (no ON CONFLICT: its speculative insertion cost a WAL record and CPU
     * on every new thread, to spare an error only a race meets).
     */
    putFirst: `WITH created AS (
        INSERT INTO ${s}.heads (thread_id, namespace, head_id)
        SELECT $1, $2, $3 WHERE $4::text IS NULL
        RETURNING 1
      )${ttl("created", 17)}
      ${insertWhere("created")}`,
    /**
     * Moves the head from the expected one (`$17`) and inserts the
     * checkpoint, in one statement. The row lock on the head makes a
     * concurrent writer re-check its condition after this one commits, so
     * exactly one of them wins.
     */
    putNext: `WITH moved AS (
        UPDATE ${s}.heads SET head_id = $3
        WHERE thread_id = $1 AND namespace = $2 AND head_id = $17
          AND ($4::text IS NULL OR $4::text = $17 OR EXISTS (
            SELECT 1 FROM ${s}.checkpoints WHERE thread_id = $1 AND namespace = $2 AND id = $4::text))
        RETURNING 1
      )${ttl("moved", 18)}
      ${insertWhere("moved")}`,
    /** Puts of distinct threads, none fenced, as one statement; see putBatch. */
    putBatch: putBatch(false),
    /** Puts of distinct threads, some fenced (`$18` run ids, `$19` tokens; null when not). */
    putBatchFenced: putBatch(true),
    headId: `SELECT head_id AS id FROM ${s}.heads WHERE thread_id = $1 AND namespace = $2`,
    exists: `SELECT 1 FROM ${s}.checkpoints WHERE thread_id = $1 AND namespace = $2 AND id = $3`,
    putPending: pendingUpsert(""),
    /** putFirst under a run's fence: nothing is written unless the fence holds. */
    putFirstFenced: `WITH ${fence(firstFence)}, created AS (
        INSERT INTO ${s}.heads (thread_id, namespace, head_id)
        SELECT $1, $2, $3 WHERE $4::text IS NULL AND ${admitted(firstFence)}
        RETURNING 1
      )${ttl("created", 17)}, written AS (
        ${insertWhere("created")}
        RETURNING 1
      )
      ${fenceState}`,
    /** putNext under a run's fence. */
    putNextFenced: `WITH ${fence(nextFence)}, moved AS (
        UPDATE ${s}.heads SET head_id = $3
        WHERE thread_id = $1 AND namespace = $2 AND head_id = $17 AND ${admitted(nextFence)}
          AND ($4::text IS NULL OR $4::text = $17 OR EXISTS (
            SELECT 1 FROM ${s}.checkpoints WHERE thread_id = $1 AND namespace = $2 AND id = $4::text))
        RETURNING 1
      )${ttl("moved", 18)}, written AS (
        ${insertWhere("moved")}
        RETURNING 1
      )
      ${fenceState}`,
    /** putPending under a run's fence (`$9`, `$10`). */
    putPendingFenced: `WITH ${fence(9)}, written AS (
        ${pendingUpsert(` AND ${admitted(9)}`)}
        RETURNING 1
      )
      ${fenceState}`,
    pendingOf: `SELECT task_id AS "taskId", idx, format_version AS "formatVersion", channel, value
      FROM ${s}.pending_writes WHERE thread_id = $1 AND namespace = $2 AND checkpoint_id = $3`,
    loadHead: load(`SELECT c.id, c.base_id, c.chain_length FROM ${s}.heads h
      JOIN ${s}.checkpoints c ON c.thread_id = h.thread_id AND c.namespace = h.namespace AND c.id = h.head_id
      WHERE h.thread_id = $1 AND h.namespace = $2`),
    loadById: load(
      `SELECT id, base_id, chain_length FROM ${s}.checkpoints WHERE thread_id = $1 AND namespace = $2 AND id = $3`,
    ),
    /**
     * `$3` is the exclusive upper bound, `$4` the page size; metadata filters
     * are appended. The page (listed), then the older rows whose headers its
     * delta headers decode from: each delta's parents back to a row that
     * cannot be one (an anchor, or older than format 3). One statement a page,
     * however forks interleave and whatever the filter leaves out. Each step
     * is a primary-key lookup (LATERAL ... LIMIT 1, which the planner cannot
     * flatten): as a join, the planner hashed the whole thread.
     */
    listPage: (filters: string) => `WITH RECURSIVE page AS (
        SELECT ${columns("", false)} FROM ${s}.checkpoints
        WHERE thread_id = $1 AND namespace = $2 AND id < $3 ${filters} ORDER BY id DESC LIMIT $4
      ), needed (id) AS (
        SELECT "parentId" FROM page WHERE "formatVersion" >= 3 AND "chainLength" % ${ANCHOR_EVERY} <> 0
          AND "parentId" NOT IN (SELECT id FROM page)
        UNION
        SELECT c.parent_id FROM needed CROSS JOIN LATERAL (
          SELECT parent_id, format_version, chain_length FROM ${s}.checkpoints
          WHERE thread_id = $1 AND namespace = $2 AND id = needed.id LIMIT 1
        ) c
        WHERE c.format_version >= 3 AND c.chain_length % ${ANCHOR_EVERY} <> 0
      )
      SELECT *, true AS listed FROM page
      UNION ALL
      SELECT c.*, false FROM needed CROSS JOIN LATERAL (
        SELECT ${columns("", false)} FROM ${s}.checkpoints
        WHERE thread_id = $1 AND namespace = $2 AND id = needed.id LIMIT 1
      ) c
      ORDER BY listed DESC, id DESC`,
    threadsPage: `SELECT h.thread_id AS "threadId", h.head_id AS "headId", c.step, c.created_at::float8 AS "createdAt",
        c.next_count AS "nextCount",
        ARRAY(SELECT DISTINCT p.channel FROM ${s}.pending_writes p
          WHERE p.thread_id = h.thread_id AND p.namespace = '' AND p.checkpoint_id = h.head_id
            AND p.channel IN ('__interrupt__', '__error__')) AS channels
      FROM ${s}.heads h
      JOIN ${s}.checkpoints c ON c.thread_id = h.thread_id AND c.namespace = h.namespace AND c.id = h.head_id
      WHERE h.namespace = '' AND h.thread_id > $1
      ORDER BY h.thread_id LIMIT $2`,
    threadExists: `SELECT 1 FROM ${s}.heads WHERE thread_id = $1 LIMIT 1`,
    deleteHeads: `DELETE FROM ${s}.heads WHERE thread_id = $1`,
    deleteTtl: `DELETE FROM ${s}.thread_ttl WHERE thread_id = $1`,
    /** The next batch of a deleted namespace's checkpoints, up to its old head. */
    idsUpTo: `SELECT id FROM ${s}.checkpoints WHERE thread_id = $1 AND namespace = $2 AND id <= $3 LIMIT $4`,
    expired: `SELECT thread_id AS "threadId" FROM ${s}.thread_ttl WHERE expires_at < now() ORDER BY expires_at LIMIT $1`,
    namespacesOf: `SELECT thread_id AS "threadId", namespace, head_id AS "headId" FROM ${s}.heads WHERE thread_id = $1`,
    allNamespaces: `SELECT thread_id AS "threadId", namespace, head_id AS "headId" FROM ${s}.heads
      WHERE (thread_id, namespace) > ($1, $2) ORDER BY thread_id, namespace LIMIT $3`,
    pruneCandidates: `SELECT id, parent_id AS "parentId", base_id AS "baseId", created_at::float8 AS "createdAt"
      FROM ${s}.checkpoints WHERE thread_id = $1 AND namespace = $2`,
    deleteIds: `WITH gone AS (
        DELETE FROM ${s}.checkpoints WHERE thread_id = $1 AND namespace = $2 AND id = ANY($3::text[]) RETURNING id
      ), pending AS (
        DELETE FROM ${s}.pending_writes WHERE thread_id = $1 AND namespace = $2 AND checkpoint_id = ANY($3::text[])
      )
      SELECT count(*)::int AS deleted FROM gone`,
    copyCheckpoints: `INSERT INTO ${s}.checkpoints (${INSERT_COLUMNS})
      SELECT $2, namespace, id, parent_id, step, created_at, format_version, base_id, chain_length, chain_bytes,
        snapshot_bytes, next_count, metadata, header, writes, snapshot
      FROM ${s}.checkpoints WHERE thread_id = $1`,
    copyPending: `INSERT INTO ${s}.pending_writes
      SELECT $2, namespace, checkpoint_id, task_id, idx, format_version, channel, value
      FROM ${s}.pending_writes WHERE thread_id = $1`,
    copyHeads: `INSERT INTO ${s}.heads SELECT $2, namespace, head_id FROM ${s}.heads WHERE thread_id = $1`,
    exportCheckpoints: `SELECT ${columns("", true)} FROM ${s}.checkpoints WHERE thread_id = $1 ORDER BY namespace, id`,
    exportPending: `SELECT thread_id AS "threadId", namespace, checkpoint_id AS "checkpointId", task_id AS "taskId",
        idx, format_version AS "formatVersion", channel, value
      FROM ${s}.pending_writes WHERE thread_id = $1`,
    insertCheckpoint: `INSERT INTO ${s}.checkpoints (${INSERT_COLUMNS})
      VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13::jsonb, $14, $15, $16)`,
    upsertHead: `INSERT INTO ${s}.heads (thread_id, namespace, head_id) VALUES ($1, $2, $3)
      ON CONFLICT (thread_id, namespace) DO UPDATE SET head_id = EXCLUDED.head_id`,
  };
}

export type Statements = ReturnType<typeof statements>;
