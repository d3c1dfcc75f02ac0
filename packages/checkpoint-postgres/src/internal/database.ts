import pg from "pg";
import {
  CheckpointerClosedError,
  StorageUnavailableError,
  type Serializer,
} from "@waypoint/checkpoint";
import { DEFAULT_RETRY, delayFor, isAmbiguous, isRetryable, type RetryOptions } from "./retry.js";
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
}

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
  private ready: Promise<void> | undefined;
  private isSetUp = false;
  private closed = false;

  constructor(
    options: DatabaseOptions,
    private readonly schema: string,
  ) {
    this.ownsPool = options.pool === undefined;
    this.pool =
      options.pool ?? new pg.Pool({ connectionString: options.connectionString, max: 10 });
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
      await client.query("BEGIN");
      const result = await body(client);
      await client.query("COMMIT");
      return result;
    } catch (error) {
      await client.query("ROLLBACK").catch(() => undefined);
      throw error;
    } finally {
      client.release();
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
    return attempt().catch((error: unknown) =>
      this.retryAfter(error, operation, attempt, committed),
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
    if (failed !== undefined && isRetryable(failed))
      return this.retryAfter(failed, operation, attempt, committed);
    return attempt().catch((error: unknown) =>
      this.retryAfter(error, operation, attempt, committed),
    );
  }

  private statement(text: string, values: unknown[]): pg.QueryConfig {
    return this.prepare ? prepared(text, values) : { text, values };
  }

  private withRetry<T>(
    operation: string,
    attempt: () => Promise<T>,
    committed?: () => Promise<T | undefined>,
  ): Promise<T> {
    return attempt().catch((error: unknown) =>
      this.retryAfter(error, operation, attempt, committed),
    );
  }

  /** Retries `attempt`, which failed with `error`, for as long as that is safe. */
  private async retryAfter<T>(
    error: unknown,
    operation: string,
    attempt: () => Promise<T>,
    committed?: () => Promise<T | undefined>,
  ): Promise<T> {
    let ambiguous = false;
    for (let tries = 1; ; tries += 1) {
      if (!isRetryable(error)) throw error;
      if (tries >= this.retry.attempts)
        throw new StorageUnavailableError("PostgreSQL", operation, tries, error);
      ambiguous ||= isAmbiguous(error);
      await new Promise((resolve) => setTimeout(resolve, delayFor(this.retry, tries)));
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
