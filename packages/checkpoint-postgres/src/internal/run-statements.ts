/** The SQL of the run queue, for one schema (`s`, quoted). Times are read as epoch ms. */

const ACTIVE = `('pending', 'running', 'paused')`;

/** Written as runs_ended's predicate is, so that the planner can use that index. */
const ENDED = `('interrupted', 'succeeded', 'failed', 'cancelled')`;

const ms = (column: string) => `(extract(epoch FROM ${column}) * 1000)::float8`;

export function runColumns(p = ""): string {
  return `${p}id, ${p}thread_id AS "threadId", ${p}graph, ${p}input, ${p}status, ${p}strategy,
    ${p}attempts, ${p}max_attempts AS "maxAttempts", ${p}token, ${p}worker_id AS "workerId",
    ${ms(`${p}lease_expires_at`)} AS "leaseExpiresAt", ${p}control, ${p}error, ${p}metadata,
    ${ms(`${p}created_at`)} AS "createdAt", ${ms(`${p}updated_at`)} AS "updatedAt",
    ${ms(`${p}started_at`)} AS "startedAt", ${ms(`${p}ended_at`)} AS "endedAt"`;
}

/** `$1` run id, `$2` token: the run is still held under this fence. */
const FENCED = `id = $1 AND token = $2 AND status = 'running'`;

/**
 * `s` the quoted schema, `channel` its NOTIFY channel (run-listener.ts). A
 * change that may make a run claimable notifies the channel; PostgreSQL
 * delivers it when the change commits, and never if it rolls back.
 */
export function runStatements(s: string, channel: string) {
  const columns = runColumns();
  const wake = `pg_notify('${channel.replaceAll("'", "''")}', '')`;
  /** In a RETURNING list: another run of the returned run's thread is waiting. */
  const threadWaits = `EXISTS (SELECT 1 FROM ${s}.runs o WHERE o.thread_id = ${s}.runs.thread_id
      AND o.status = 'pending' AND o.id <> ${s}.runs.id)`;
  return {
    /**
     * Creates on one thread queue behind this lock (`$1` schema, `$2` thread);
     * the workers wake once the create commits.
     */
    lockThreadAndWake: `SELECT pg_advisory_xact_lock(hashtextextended($1::text || '.' || $2::text, 0)),
      ${wake}`,
    /**
     * The thread's active runs, oldest first, locked so that a claim or a
     * control request cannot change them under the strategy, and its newest
     * run (ended or not), after which the new run's id must sort.
     */
    threadForCreate: `SELECT id, status, control, status IN ${ACTIVE} AS active FROM ${s}.runs
      WHERE thread_id = $1
        AND (status IN ${ACTIVE} OR id = (SELECT max(id) FROM ${s}.runs WHERE thread_id = $1))
      ORDER BY id FOR UPDATE`,
    /** Applies the strategy's plan (`$8`-`$11`) and queues the run, in one statement. */
    insert: `WITH ended AS (
        UPDATE ${s}.runs r SET status = e.status, control = NULL, worker_id = NULL,
          lease_expires_at = NULL, ended_at = now(), updated_at = now()
        FROM unnest($8::text[], $9::text[]) AS e(id, status) WHERE r.id = e.id
      ), controlled AS (
        UPDATE ${s}.runs r SET control = c.control, updated_at = now()
        FROM unnest($10::text[], $11::text[]) AS c(id, control) WHERE r.id = c.id
      )
      INSERT INTO ${s}.runs (id, thread_id, graph, input, status, strategy, attempts, max_attempts,
        token, metadata, created_at, updated_at)
      VALUES ($1, $2, $3, $4, 'pending', $5, 0, $6, 0, $7::jsonb, now(), now())
      RETURNING ${columns}`,
    byId: `SELECT ${columns} FROM ${s}.runs WHERE id = $1`,
    /** `$3` is the exclusive upper bound ("\uffff" for the first page), `$4` the page size. */
    listByThread: `SELECT ${columns} FROM ${s}.runs
      WHERE thread_id = $1 AND ($2::text[] IS NULL OR status = ANY($2::text[])) AND id < $3
      ORDER BY id DESC LIMIT $4`,
    listByStatus: `SELECT ${columns} FROM ${s}.runs WHERE status = ANY($1::text[]) AND id < $2
      ORDER BY id DESC LIMIT $3`,
    listAll: `SELECT ${columns} FROM ${s}.runs WHERE id < $1 ORDER BY id DESC LIMIT $2`,
    /**
     * Takes the oldest claimable run: pending with no earlier active run of
     * its thread, or running with a lease lapsed by the database's clock.
     * SKIP LOCKED passes over runs another claim (or a create, or a fenced
     * write) holds, so claims never wait on each other. A candidate past its
     * attempts is returned untaken (the run's columns null), to be failed by the caller.
     * `$1` worker, `$2` lease ms, `$3` claim id.
     */
    claim: `WITH candidate AS MATERIALIZED (
        SELECT r.id, r.attempts < r.max_attempts AS fresh, r.max_attempts
        FROM ${s}.runs r
        WHERE r.status IN ('pending', 'running')
          AND CASE WHEN r.status = 'running' THEN r.lease_expires_at < now()
            ELSE NOT EXISTS (SELECT 1 FROM ${s}.runs o
              WHERE o.thread_id = r.thread_id AND o.status IN ${ACTIVE} AND o.id < r.id) END
        ORDER BY r.id LIMIT 1
        FOR UPDATE OF r SKIP LOCKED
      ), taken AS (
        UPDATE ${s}.runs r SET status = 'running', attempts = r.attempts + 1, token = r.token + 1,
          worker_id = $1, claim_id = $3, lease_expires_at = now() + $2::float8 * interval '1 millisecond',
          started_at = coalesce(r.started_at, now()), updated_at = now()
        FROM candidate c WHERE r.id = c.id AND c.fresh
        RETURNING ${runColumns("r.")}
      )
      SELECT c.id AS "candidateId", c.max_attempts AS "candidateMaxAttempts", t.*
      FROM candidate c LEFT JOIN taken t ON true`,
    /** The run a claim with this id (`$1`) took, if it committed. */
    claimedBy: `SELECT ${columns} FROM ${s}.runs WHERE status = 'running' AND claim_id = $1`,
    /** Fails a claimable run that used up its attempts (`$2` the error); no-op if someone else did. */
    failExhausted: `UPDATE ${s}.runs SET status = 'failed', error = $2::jsonb, control = NULL,
        worker_id = NULL, lease_expires_at = NULL, ended_at = now(), updated_at = now()
      WHERE id = $1 AND attempts >= max_attempts
        AND (status = 'pending' OR (status = 'running' AND lease_expires_at < now()))`,
    fenceState: `SELECT token, status, control, worker_id AS "workerId" FROM ${s}.runs WHERE id = $1`,
    /** `$3` lease ms. */
    renew: `UPDATE ${s}.runs SET lease_expires_at = now() + $3::float8 * interval '1 millisecond',
        updated_at = now()
      WHERE ${FENCED} RETURNING ${ms("lease_expires_at")} AS "leaseExpiresAt", control`,
    /**
     * Ends a run (`$3` status, `$4` error), or pauses it: either way it drops
     * its lease and any request, and the thread's next run may start.
     */
    finish: `UPDATE ${s}.runs SET status = $3::text, error = coalesce($4::jsonb, error), control = NULL,
        worker_id = NULL, lease_expires_at = NULL,
        ended_at = CASE WHEN $3::text = 'paused' THEN NULL ELSE now() END, updated_at = now()
      WHERE ${FENCED} RETURNING ${columns}, CASE WHEN ${threadWaits} THEN ${wake} END AS "woke"`,
    /** Whether a finish (`$3` status) committed: the run is in that status under the same token. */
    finished: `SELECT ${columns} FROM ${s}.runs WHERE id = $1 AND token = $2 AND status = $3::text`,
    release: `UPDATE ${s}.runs SET status = 'pending', attempts = attempts - 1, worker_id = NULL,
        lease_expires_at = NULL, updated_at = now()
      WHERE ${FENCED} RETURNING ${columns}, ${wake} AS "woke"`,
    /** Pending or paused: cancelled at once. Running: asks its worker. Ended: not matched. */
    cancel: `UPDATE ${s}.runs SET
        status = CASE WHEN status = 'running' THEN status ELSE 'cancelled' END,
        control = CASE WHEN status = 'running' THEN 'cancel' END,
        ended_at = CASE WHEN status = 'running' THEN ended_at ELSE now() END,
        updated_at = now()
      WHERE id = $1 AND status IN ${ACTIVE}
      RETURNING ${columns},
        CASE WHEN status = 'cancelled' AND ${threadWaits} THEN ${wake} END AS "woke"`,
    /** Pending: paused at once. Running: asks its worker, unless a request is pending. Paused: unchanged. */
    pause: `UPDATE ${s}.runs SET
        status = CASE WHEN status = 'pending' THEN 'paused' ELSE status END,
        control = CASE WHEN status = 'running' THEN coalesce(control, 'pause') ELSE control END,
        updated_at = CASE WHEN status = 'paused' THEN updated_at ELSE now() END
      WHERE id = $1 AND status IN ${ACTIVE} RETURNING ${columns}`,
    /** Paused: queued again. Running with a pause not yet acted on: the pause is withdrawn. */
    resume: `UPDATE ${s}.runs SET
        status = CASE WHEN status = 'paused' THEN 'pending' ELSE status END,
        control = CASE WHEN status = 'paused' THEN control END,
        updated_at = now()
      WHERE id = $1 AND (status = 'paused' OR (status = 'running' AND control = 'pause'))
      RETURNING ${columns}, CASE WHEN status = 'pending' THEN ${wake} END AS "woke"`,
    /**
     * Deletes up to `$2` ended runs that ended before `$1` (epoch ms), oldest
     * end first, through runs_ended; returns how many went.
     */
    prune: `WITH gone AS (
        DELETE FROM ${s}.runs WHERE id IN (
          SELECT id FROM ${s}.runs
          WHERE status IN ${ENDED} AND ended_at < to_timestamp($1::float8 / 1000)
          ORDER BY ended_at LIMIT $2
        ) RETURNING 1
      )
      SELECT count(*)::int AS deleted FROM gone`,
  };
}

export type RunStatements = ReturnType<typeof runStatements>;
