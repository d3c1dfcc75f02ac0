import pg from "pg";
import {
  CheckpointerClosedError,
  StorageUnavailableError,
  type Serializer,
} from "@waypoint/checkpoint";
import { DEFAULT_TIMEOUTS } from "./options.js";
import {
  DEFAULT_RETRY,
  delayFor,
  isAmbiguous,
  isRetryable,
  isTimeout,
  type RetryOptions,
} from "./retry.js";
import { prepared } from "./rows.js";
import { migrate } from "./schema.js";
import type { Statements } from "./statements.js";

/** What the run store needs of the database: statements, transactions and retries. */
export interface Connection {
  /**
   * Runs `attempt`, retrying what is safe to retry. After an error that may
   * have committed, `committed` is asked first and its answer, if any, kept.
   */
  run<T>(
    operation: string,
    attempt: () => Promise<T>,
    committed?: () => Promise<T | undefined>,
  ): Promise<T>;
  /** One statement, on the pool or on a transaction's `client`. */
  send<Row extends object>(text: string, values: unknown[], client?: pg.PoolClient): Promise<Row[]>;
  /** BEGIN, `body`, COMMIT on one client, retried as `run` does. */
  transaction<T>(
    operation: string,
    body: (client: pg.PoolClient) => Promise<T>,
    committed?: () => Promise<T | undefined>,
  ): Promise<T>;
}

/** The options of PostgresCheckpointer that shape its database access. */
export interface DatabaseOptions {
  readonly pool?: pg.Pool;
  readonly connectionString?: string;
  readonly retry?: Partial<RetryOptions>;
  readonly preparedStatements?: boolean;
  readonly connectTimeoutMs?: number;
  readonly queryTimeoutMs?: number;
  readonly unavailableAfterMs?: number;
}

/** pg reads `query_timeout` per statement; its typings omit it. */
type BoundedQuery = pg.QueryConfig & { query_timeout?: number };

/** What the client waits past `statement_timeout` for the server's own cancel to arrive. */
const CANCEL_GRACE_MS = 1_000;

/** What the checkpointer's parts share: its database, its statements and its serializer. */
export interface CheckpointStore {
  readonly db: Database;
  readonly sql: Statements;
  readonly serializer: Serializer;
}

/**
 * PostgresCheckpointer's pool: the schema set up once, statements sent
 * (prepared unless turned off), transactions, retries of what is safe to
 * retry, and the refusal of new work once closed.
 */
export class Database implements Connection {
  private readonly pool: pg.Pool;
  private readonly ownsPool: boolean;
  private readonly retry: RetryOptions;
  private readonly prepare: boolean;
  /** Client-side bound of one statement: a frozen server's silence ends here. */
  private readonly queryTimeout: number;
  /** The longest one attempt can take: a connection, then one statement. */
  private readonly attemptBound: number;
  private readonly unavailableAfterMs: number;
  private ready: Promise<void> | undefined;
  private isSetUp = false;
  private closed = false;

  constructor(
    options: DatabaseOptions,
    private readonly schema: string,
  ) {
    this.ownsPool = options.pool === undefined;
    const connectTimeout = options.connectTimeoutMs ?? DEFAULT_TIMEOUTS.connectTimeoutMs;
    const statementTimeout = options.queryTimeoutMs ?? DEFAULT_TIMEOUTS.queryTimeoutMs;
    this.queryTimeout = statementTimeout + CANCEL_GRACE_MS;
    this.attemptBound = connectTimeout + this.queryTimeout;
    this.unavailableAfterMs = options.unavailableAfterMs ?? DEFAULT_TIMEOUTS.unavailableAfterMs;
    // The server cancels a slow statement itself (a clean error, its locks freed);
    // the client stops waiting on a server that says nothing (frozen, partitioned).
    this.pool =
      options.pool ??
      new pg.Pool({
        connectionString: options.connectionString,
        max: 10,
        connectionTimeoutMillis: connectTimeout,
        statement_timeout: statementTimeout,
        query_timeout: this.queryTimeout,
      });
    // An idle client whose server restarted emits "error"; unhandled, it would crash the process.
    if (this.ownsPool) this.pool.on("error", () => undefined);
    this.retry = { ...DEFAULT_RETRY, ...options.retry };
    this.prepare = options.preparedStatements !== false;
  }

  /** Creates or upgrades the schema. Runs once per instance; safe in several processes at once. */
  setup(): Promise<void> {
    this.ready ??= this.withRetry("setup", async () => {
      const client = await this.pool.connect();
      try {
        await migrate(client, this.schema);
      } finally {
        client.release();
      }
    }).then(
      () => {
        this.isSetUp = true;
      },
      (error: unknown) => {
        this.ready = undefined;
        throw error;
      },
    );
    return this.ready;
  }

  /** How to open a connection of its own like the pool's (for LISTEN), kept alive by TCP. */
  clientConfig(): pg.ClientConfig {
    return { ...this.pool.options, keepAlive: true };
  }

  /** Refuses new work, waits for `drain`, then ends the pool if it was opened here. */
  async close(drain: () => Promise<void>): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await drain();
    if (this.ownsPool) await this.pool.end();
  }

  /** One statement, once, as the driver returns it: on the pool, or on a transaction's `client`. */
  execute<Row extends object = Record<string, unknown>>(
    text: string,
    values: unknown[],
    client?: pg.PoolClient,
  ): Promise<pg.QueryResult<Row>> {
    return (client ?? this.pool).query<Row>(this.statement(text, values));
  }

  async send<Row extends object>(
    text: string,
    values: unknown[],
    client?: pg.PoolClient,
  ): Promise<Row[]> {
    return (await (client ?? this.pool).query<Row>(this.statement(text, values))).rows;
  }

  /** One statement's rows, with retries. */
  query<Row extends object = Record<string, unknown>>(
    operation: string,
    text: string,
    params: unknown[],
  ): Promise<Row[]> {
    return this.run(operation, () => this.execute<Row>(text, params).then((result) => result.rows));
  }

  async transaction<T>(
    operation: string,
    body: (client: pg.PoolClient) => Promise<T>,
    committed?: () => Promise<T | undefined>,
  ): Promise<T> {
    return this.run(operation, () => this.inTransaction(body), committed);
  }

  /** BEGIN, `body`, COMMIT on one client, once: an attempt that its caller retries. */
  async inTransaction<T>(body: (client: pg.PoolClient) => Promise<T>): Promise<T> {
    const client = await this.pool.connect();
    try {
      await client.query(this.bounded("BEGIN"));
      const result = await body(client);
      // A COMMIT that times out may have committed: isAmbiguous says so, and the retry checks.
      await client.query(this.bounded("COMMIT"));
      client.release();
      return result;
    } catch (error) {
      if (isRetryable(error)) {
        // The connection is suspect (timed out, dropped): destroy it; the server rolls back.
        client.release(error instanceof Error ? error : true);
      } else {
        await client.query(this.bounded("ROLLBACK")).catch(() => undefined);
        client.release();
      }
      throw error;
    }
  }

  /**
   * Ensures the schema, then runs `operation`, retrying what is safe to retry.
   * Once the schema is ready, the first attempt goes straight to the pool:
   * a superstep pays for no wrapper promises (each costs a promise hook while
   * the runtime's AsyncLocalStorage is on; measured: 14 promises per put
   * through async wrappers, 5 without).
   */
  run<T>(
    operation: string,
    attempt: () => Promise<T>,
    committed?: () => Promise<T | undefined>,
  ): Promise<T> {
    if (this.closed)
      return Promise.reject(new CheckpointerClosedError(`PostgresCheckpointer(${this.schema})`));
    if (!this.isSetUp)
      return this.setup().then(() => this.withRetry(operation, attempt, committed));
    const started = Date.now();
    return attempt().catch((error: unknown) =>
      this.retryAfter(error, operation, attempt, committed, started),
    );
  }

  /** Undefined once set up and open (no promise to pay for); else the setup, or the refusal. */
  opening(): Promise<void> | undefined {
    if (this.closed)
      return Promise.reject(new CheckpointerClosedError(`PostgresCheckpointer(${this.schema})`));
    return this.isSetUp ? undefined : this.setup();
  }

  /**
   * `attempt` with retries. With `failed`, the error of an earlier try on
   * its behalf (a batch): retried as that error allows, or tried afresh.
   */
  retrying<T>(
    operation: string,
    attempt: () => Promise<T>,
    committed: () => Promise<T | undefined>,
    failed: unknown,
  ): Promise<T> {
    if (failed !== undefined && isRetryable(failed)) {
      // A batch that timed out has spent that long of this put's bound already.
      const spent = isTimeout(failed) ? this.attemptBound : 0;
      return this.retryAfter(failed, operation, attempt, committed, Date.now() - spent);
    }
    const started = Date.now();
    return attempt().catch((error: unknown) =>
      this.retryAfter(error, operation, attempt, committed, started),
    );
  }

  private statement(text: string, values: unknown[]): pg.QueryConfig {
    const config: BoundedQuery = this.prepare ? prepared(text, values) : { text, values };
    // A pool opened here has the bound already; a borrowed one gets it per statement.
    if (!this.ownsPool) config.query_timeout = this.queryTimeout;
    return config;
  }

  private bounded(text: string): pg.QueryConfig {
    const config: BoundedQuery = { text, query_timeout: this.queryTimeout };
    return config;
  }

  private withRetry<T>(
    operation: string,
    attempt: () => Promise<T>,
    committed?: () => Promise<T | undefined>,
  ): Promise<T> {
    const started = Date.now();
    return attempt().catch((error: unknown) =>
      this.retryAfter(error, operation, attempt, committed, started),
    );
  }

  /** Retries `attempt`, which failed with `error`, for as long as that is safe. */
  private async retryAfter<T>(
    error: unknown,
    operation: string,
    attempt: () => Promise<T>,
    committed: (() => Promise<T | undefined>) | undefined,
    started: number,
  ): Promise<T> {
    let ambiguous = false;
    for (let tries = 1; ; tries += 1) {
      if (!isRetryable(error)) throw error;
      const delay = delayFor(this.retry, tries);
      // No attempt starts that could end after unavailableAfterMs: a dead or
      // frozen server gives STORAGE_UNAVAILABLE within that bound.
      const late = Date.now() - started + delay + this.attemptBound > this.unavailableAfterMs;
      if (tries >= this.retry.attempts || late)
        throw new StorageUnavailableError("PostgreSQL", operation, tries, error);
      ambiguous ||= isAmbiguous(error);
      await new Promise((resolve) => setTimeout(resolve, delay));
      try {
        if (ambiguous && committed !== undefined) {
          const result = await committed();
          if (result) return result;
        }
        return await attempt();
      } catch (next) {
        error = next;
      }
    }
  }
}
