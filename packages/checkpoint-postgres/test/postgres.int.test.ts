import { execFileSync } from "node:child_process";
import { randomUUID } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import pg from "pg";
import { afterAll, describe, expect, inject, it } from "vitest";
import {
  CheckpointConflictError,
  CorruptRecordError,
  InvalidArgumentError,
  LeaseLostError,
  StorageUnavailableError,
  UnsupportedFormatVersionError,
  type RunRecord,
} from "@waypoint/checkpoint";
import { ThreadWriter, collect, rebuild } from "@waypoint/checkpoint/testing";
import { PostgresCheckpointer, SCHEMA_VERSION } from "@waypoint/checkpoint-postgres";
import { OUTAGE_STEPS, runThroughOutage } from "@waypoint/core/testing";
import { startPostgres, type PostgresServer } from "@waypoint/test-services";

const pool = new pg.Pool({ connectionString: inject("pgUrl"), max: 10 });
afterAll(() => pool.end());
const schemaName = () => `wp_${randomUUID().slice(0, 8)}`;

/** A real pool that counts the statements sent through it (nothing is faked). */
function countingPool(max = 2): { pool: pg.Pool; count: () => number } {
  const counted = new pg.Pool({ connectionString: inject("pgUrl"), max });
  counted.on("error", () => undefined); // a client whose backend a test terminated
  let statements = 0;
  const query = counted.query.bind(counted) as (...args: unknown[]) => unknown;
  Object.assign(counted, { query: (...args: unknown[]) => ((statements += 1), query(...args)) });
  return { pool: counted, count: () => statements };
}

describe("PostgresCheckpointer", () => {
  it("writes a superstep in one statement and loads a checkpoint in one query", async () => {
    const { pool: counted, count } = countingPool();
    const checkpointer = new PostgresCheckpointer({ pool: counted, schema: schemaName() });
    await checkpointer.setup();
    const writer = new ThreadWriter(checkpointer, "t");
    await writer.write({ log: 0 });
    const perPut: number[] = [];
    for (let step = 1; step < 30; step += 1) {
      const before = count();
      await writer.write({ log: step });
      perPut.push(count() - before);
    }
    expect(new Set(perPut)).toEqual(new Set([1]));
    let before = count();
    const loaded = await checkpointer.get("t");
    expect(count() - before).toBe(1);
    expect(loaded?.deltas.length).toBeGreaterThan(0);
    before = count();
    await checkpointer.putPendingWrites({ threadId: "t", checkpointId: writer.head!.id }, [
      { taskId: "a", idx: 0, channel: "log", value: 1 },
      { taskId: "b", idx: 0, channel: "log", value: 2 },
    ]);
    expect(count() - before).toBe(1);
    await counted.query(`DROP SCHEMA "${checkpointer.schema}" CASCADE`);
    await counted.end();
  });

  it("migrates safely when several processes call setup() at once, and refuses a newer schema", async () => {
    const schema = schemaName();
    const instances = Array.from({ length: 6 }, () => new PostgresCheckpointer({ pool, schema }));
    await Promise.all(instances.map((instance) => instance.setup()));
    const { rows } = await pool.query<{ version: number }>(
      `SELECT version FROM "${schema}".migrations ORDER BY version`,
    );
    expect(rows.map((r) => r.version)).toEqual([...Array(SCHEMA_VERSION).keys()].map((i) => i + 1));
    await pool.query(`INSERT INTO "${schema}".migrations (version) VALUES ($1)`, [
      SCHEMA_VERSION + 1,
    ]);
    await expect(new PostgresCheckpointer({ pool, schema }).setup()).rejects.toBeInstanceOf(
      UnsupportedFormatVersionError,
    );
    await pool.query(`DROP SCHEMA "${schema}" CASCADE`);
  });

  it("creates its tables in an existing schema created by an older version (no tables yet)", async () => {
    const schema = schemaName();
    await pool.query(`CREATE SCHEMA "${schema}"`);
    await pool.query(
      `CREATE TABLE "${schema}".migrations (version integer PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())`,
    );
    const checkpointer = new PostgresCheckpointer({ pool, schema });
    await new ThreadWriter(checkpointer, "t").write({ log: 1 });
    expect((await checkpointer.get("t"))?.checkpoint.step).toBe(0);
    await pool.query(`DROP SCHEMA "${schema}" CASCADE`);
  });

  it("gives up with a typed, retryable error when the server stays away", async () => {
    const checkpointer = new PostgresCheckpointer({
      connectionString: "postgres://postgres@127.0.0.1:1/postgres",
      retry: { attempts: 3, initialDelayMs: 5 },
    });
    const error = await checkpointer.get("t").catch((e: unknown) => e);
    expect(error).toBeInstanceOf(StorageUnavailableError);
    expect((error as StorageUnavailableError).code).toBe("STORAGE_UNAVAILABLE");
    expect((error as StorageUnavailableError).retryable).toBe(true);
    await checkpointer.close();
  });
});

describe("PostgreSQL restarts in the middle of a run", () => {
  it("continues or fails with a retryable error, and after a resume ends like an uninterrupted run", async () => {
    const server = await startPostgres();
    try {
      const checkpointer = new PostgresCheckpointer({
        connectionString: server.url,
        retry: { attempts: 12 },
      });
      const { outcome, values } = await runThroughOutage(checkpointer, () => server.restart());
      expect(values).toEqual({
        step: OUTAGE_STEPS,
        log: Array.from({ length: OUTAGE_STEPS }, (_, i) => i + 1),
      });
      const history = await collect(checkpointer.list("t"));
      const steps = history.map((h) => h.step).reverse();
      // No duplicate and no lost checkpoint: one per superstep, input included.
      expect(steps).toEqual(Array.from({ length: OUTAGE_STEPS + 1 }, (_, i) => i - 1));
      console.log(`postgres restart: the run ${outcome}; ${history.length} checkpoints`);
      await checkpointer.close();
    } finally {
      await server.stop();
    }
  });
});

describe("PostgreSQL frozen, then stopped, in the middle of a run (default timeouts)", () => {
  /** The postmaster (first line of postmaster.pid) and its children: backends and helpers. */
  function serverProcesses(server: PostgresServer): number[] {
    const pidFile = readFileSync(join(server.dataDir, "postmaster.pid"), "utf8");
    const postmaster = Number(pidFile.split("\n")[0]);
    const children = execFileSync("pgrep", ["-P", String(postmaster)], { encoding: "utf8" });
    return [postmaster, ...children.split("\n").filter(Boolean).map(Number)];
  }

  /**
   * The checkpointer, with a log of the moments its writes failed with
   * STORAGE_UNAVAILABLE. Such a failure reaches the run only once `release()`
   * is called: runThroughOutage listens for the run's end after the outage,
   * and a run that failed during it would be an unhandled rejection.
   */
  function heldFailures(checkpointer: PostgresCheckpointer) {
    const failedAt: number[] = [];
    let release = () => {};
    const held = new Promise<void>((resolve) => (release = resolve));
    const proxy = new Proxy(checkpointer, {
      get(target, key) {
        const value: unknown = Reflect.get(target, key, target);
        if (typeof value !== "function") return value;
        const method = (value as (...args: unknown[]) => unknown).bind(target);
        if (key !== "put" && key !== "putPendingWrites") return method;
        return (...args: unknown[]) =>
          (method(...args) as Promise<unknown>).catch(async (error: unknown) => {
            if (error instanceof StorageUnavailableError) {
              failedAt.push(Date.now());
              await held;
            }
            throw error;
          });
      },
    });
    /** The first failure after `since`, waiting up to 12 s for one. */
    const firstFailure = async (since: number) => {
      while (failedAt.length === 0 && Date.now() - since < 12_000)
        await new Promise((resolve) => setTimeout(resolve, 20));
      return failedAt[0] === undefined ? undefined : failedAt[0] - since;
    };
    return { proxy, firstFailure, release: () => setTimeout(release, 0) };
  }

  const uninterrupted = {
    step: OUTAGE_STEPS,
    log: Array.from({ length: OUTAGE_STEPS }, (_, i) => i + 1),
  };

  it("fails typed within 10 s each time, and resumes to an uninterrupted run's state", async () => {
    const server = await startPostgres();
    let stopped: number[] = [];
    const thaw = () => {
      for (const pid of stopped) process.kill(pid, "SIGCONT");
      stopped = [];
    };
    try {
      const waits: (number | undefined)[] = [];
      const onFrozen = new PostgresCheckpointer({ connectionString: server.url, schema: "frozen" });
      const frozenRun = heldFailures(onFrozen);
      const frozen = await runThroughOutage(frozenRun.proxy, async () => {
        stopped = serverProcesses(server);
        for (const pid of stopped) process.kill(pid, "SIGSTOP");
        waits.push(await frozenRun.firstFailure(Date.now()));
        thaw();
        frozenRun.release();
      });
      const onStopped = new PostgresCheckpointer({ connectionString: server.url, schema: "down" });
      const downRun = heldFailures(onStopped);
      const down = await runThroughOutage(downRun.proxy, async () => {
        await server.kill(); // immediate shutdown, as in a crash
        waits.push(await downRun.firstFailure(Date.now()));
        await server.restart();
        downRun.release();
      });
      // Each run failed with STORAGE_UNAVAILABLE while the server was away, within the bound.
      expect(
        waits.every((ms) => ms !== undefined && ms < 10_000),
        String(waits),
      ).toBe(true);
      expect([frozen.outcome, down.outcome]).toEqual(["failed", "failed"]);
      for (const [checkpointer, { values }] of [
        [onFrozen, frozen],
        [onStopped, down],
      ] as const) {
        expect(values).toEqual(uninterrupted);
        const steps = (await collect(checkpointer.list("t"))).map((h) => h.step).reverse();
        expect(steps).toEqual(Array.from({ length: OUTAGE_STEPS + 1 }, (_, i) => i - 1));
        await checkpointer.close();
      }
      console.log(
        `postgres frozen, then stopped: the run failed typed after ${waits.join(" and ")} ms`,
      );
    } finally {
      thaw();
      await server.stop();
    }
  }, 40_000);

  it("refuses a bad option with INVALID_ARGUMENT naming it", () => {
    const url = inject("pgUrl");
    const cases: [object, string][] = [
      [{ connectionString: url, queryTimeoutMs: 0 }, "options.queryTimeoutMs"],
      [{ connectionString: url, connectTimeoutMs: Number.NaN }, "options.connectTimeoutMs"],
      [{ connectionString: url, unavailableAfterMs: "9000" }, "options.unavailableAfterMs"],
      [{ connectionString: url, retry: { attempts: 0 } }, "options.retry.attempts"],
      [{ connectionString: url, groupCommit: { maxBatch: 1.5 } }, "options.groupCommit"],
      [{ connectionString: url, ttlSeconds: -1 }, "options.ttlSeconds"],
      [{ connectionString: "" }, "options.connectionString"],
      [{}, "options.pool"],
    ];
    for (const [options, argument] of cases) {
      const error = (() => {
        try {
          new PostgresCheckpointer(options);
        } catch (thrown) {
          return thrown;
        }
      })();
      expect(error, argument).toBeInstanceOf(InvalidArgumentError);
      expect(error, argument).toMatchObject({ data: { argument } });
    }
  });
});

describe("thread TTLs and the sweeper", () => {
  it("deletes expired threads, keeps the others, and refreshes the expiry on each write", async () => {
    const schema = schemaName();
    const withTtl = new PostgresCheckpointer({ pool, schema, ttlSeconds: 0.3 });
    const without = new PostgresCheckpointer({ pool, schema });
    await new ThreadWriter(withTtl, "short-lived").write({ log: 1 });
    const kept = new ThreadWriter(withTtl, "busy");
    await kept.write({ log: 1 });
    await new ThreadWriter(without, "forever").write({ log: 1 });
    for (let i = 0; i < 4; i += 1) {
      await new Promise((resolve) => setTimeout(resolve, 120));
      await kept.write({ log: i }); // written again before it expires
    }
    expect(await withTtl.sweep()).toBe(1);
    expect(await withTtl.get("short-lived")).toBeUndefined();
    expect(await withTtl.get("busy")).toBeDefined();
    expect(await without.get("forever")).toBeDefined();
    await pool.query(`DROP SCHEMA "${schema}" CASCADE`);
  });

  it("refuses a batch that could never end, deleting nothing", async () => {
    const schema = schemaName();
    const withTtl = new PostgresCheckpointer({ pool, schema, ttlSeconds: 0.05 });
    await new ThreadWriter(withTtl, "short-lived").write({ log: 1 });
    await new Promise((resolve) => setTimeout(resolve, 100));
    for (const batch of [0, -1, 1.5]) {
      await expect(withTtl.sweep({ batch })).rejects.toMatchObject({
        code: "INVALID_ARGUMENT",
        data: { argument: "sweep.batch" },
      });
    }
    expect(await withTtl.get("short-lived")).toBeDefined();
    expect(await withTtl.sweep({ batch: 1 })).toBe(1);
    await pool.query(`DROP SCHEMA "${schema}" CASCADE`);
  });

  it("upgrades a schema created before TTLs existed", async () => {
    const schema = schemaName();
    await new PostgresCheckpointer({ pool, schema }).setup();
    // Roll the schema back to version 1, as an older Waypoint left it.
    await pool.query(`DROP TABLE "${schema}".thread_ttl, "${schema}".runs`);
    await pool.query(`DELETE FROM "${schema}".migrations WHERE version > 1`);
    const upgraded = new PostgresCheckpointer({ pool, schema, ttlSeconds: 60 });
    await new ThreadWriter(upgraded, "t").write({ log: 1 });
    const { rows } = await pool.query(`SELECT thread_id FROM "${schema}".thread_ttl`);
    expect(rows).toEqual([{ thread_id: "t" }]);
    await pool.query(`DROP SCHEMA "${schema}" CASCADE`);
  });
});

describe("the run queue on PostgreSQL", () => {
  it("concurrent claims from many pools take each run once, and a thread's runs one at a time in order", async () => {
    const schema = schemaName();
    // Six "processes", each with its own pool, each claiming on three clients at once.
    const processes = Array.from({ length: 6 }, () => {
      const own = new pg.Pool({ connectionString: inject("pgUrl"), max: 3 });
      return { pool: own, checkpointer: new PostgresCheckpointer({ pool: own, schema }) };
    });
    const store = processes[0]!.checkpointer.runs;
    const created: RunRecord[] = [];
    for (let i = 0; i < 60; i += 1) {
      created.push(await store.create({ threadId: `t${i % 12}`, graph: "g", input: i }));
    }
    const claimed: { runId: string; threadId: string; token: number; worker: string }[] = [];
    let running = 0;
    let mostAtOnce = 0;
    const claimer = async (worker: string, checkpointer: PostgresCheckpointer) => {
      for (let idle = 0; idle < 5;) {
        const taken = await checkpointer.runs.claim({ workerId: worker, leaseMs: 60_000 });
        if (taken === undefined) {
          idle += 1;
          await new Promise((resolve) => setTimeout(resolve, 20));
          continue;
        }
        idle = 0;
        running += 1;
        mostAtOnce = Math.max(mostAtOnce, running);
        const { run } = taken;
        claimed.push({ runId: run.id, threadId: run.threadId, token: run.token, worker });
        await new Promise((resolve) => setTimeout(resolve, Math.random() * 5));
        running -= 1;
        await checkpointer.runs.finish(taken.fence, { status: "succeeded" });
      }
    };
    await Promise.all(
      processes.flatMap(({ checkpointer }, p) =>
        [0, 1, 2].map((c) => claimer(`w${p}.${c}`, checkpointer)),
      ),
    );
    expect(claimed.map((c) => c.runId).sort()).toEqual(created.map((r) => r.id).sort());
    expect(new Set(claimed.map((c) => c.token))).toEqual(new Set([1]));
    expect(mostAtOnce).toBeGreaterThan(1); // the claims did overlap
    for (let t = 0; t < 12; t += 1) {
      const order = claimed.filter((c) => c.threadId === `t${t}`).map((c) => c.runId);
      const made = created.filter((r) => r.threadId === `t${t}`).map((r) => r.id);
      expect(order).toEqual(made);
    }
    const ended = await store.list({ status: "succeeded", limit: 1000 });
    expect(ended).toHaveLength(60);
    for (const { pool: own } of processes) await own.end();
    await pool.query(`DROP SCHEMA "${schema}" CASCADE`);
  });

  it("never lets two runs of one thread run at once, whatever claimed them", async () => {
    const schema = schemaName();
    const checkpointer = new PostgresCheckpointer({ pool, schema });
    const first = await checkpointer.runs.create({ threadId: "t", graph: "g", input: 1 });
    const second = await checkpointer.runs.create({ threadId: "t", graph: "g", input: 2 });
    await checkpointer.runs.claim({ workerId: "w", leaseMs: 60_000 });
    // A second running run of the thread, forced past the claim's rules, cannot commit.
    await expect(
      pool.query(`UPDATE "${schema}".runs SET status = 'running' WHERE id = $1`, [second.id]),
    ).rejects.toMatchObject({ code: "23505", constraint: "runs_one_running" });
    expect((await checkpointer.runs.get(first.id))?.status).toBe("running");
    await pool.query(`DROP SCHEMA "${schema}" CASCADE`);
  });

  it("reports a run row it cannot decode as a corrupt record", async () => {
    const schema = schemaName();
    const checkpointer = new PostgresCheckpointer({ pool, schema });
    const run = await checkpointer.runs.create({ threadId: "t", graph: "g", input: 1 });
    await pool.query(`UPDATE "${schema}".runs SET metadata = '[1]' WHERE id = $1`, [run.id]);
    await expect(checkpointer.runs.get(run.id)).rejects.toBeInstanceOf(CorruptRecordError);
    await pool.query(`UPDATE "${schema}".runs SET metadata = '{}', input = '{' WHERE id = $1`, [
      run.id,
    ]);
    await expect(checkpointer.runs.get(run.id)).rejects.toMatchObject({ code: "CORRUPT_RECORD" });
    await pool.query(`DROP SCHEMA "${schema}" CASCADE`);
  });

  it("upgrades a schema created before runs existed, keeping its checkpoints", async () => {
    const schema = schemaName();
    const old = new PostgresCheckpointer({ pool, schema });
    const writer = new ThreadWriter(old, "t");
    for (let step = 0; step < 5; step += 1) await writer.write({ log: step });
    // Roll the schema back to version 2, as the previous Waypoint left it.
    await pool.query(`DROP TABLE "${schema}".runs`);
    await pool.query(`DELETE FROM "${schema}".migrations WHERE version > 2`);
    const upgraded = new PostgresCheckpointer({ pool, schema });
    const run = await upgraded.runs.create({ threadId: "t", graph: "g", input: 1 });
    const taken = await upgraded.runs.claim({ workerId: "w", leaseMs: 60_000 });
    expect(taken?.run.id).toBe(run.id);
    const { rows } = await pool.query<{ version: number }>(
      `SELECT max(version) AS version FROM "${schema}".migrations`,
    );
    expect(rows[0]?.version).toBe(SCHEMA_VERSION);
    const history = await collect(upgraded.list("t"));
    expect(history.map((h) => h.step)).toEqual([4, 3, 2, 1, 0]);
    const continued = ThreadWriter.fork(
      new ThreadWriter(upgraded, "t"),
      writer.head!,
      writer.state,
    );
    await continued.write({ log: 5 }, { fence: taken!.fence });
    expect(rebuild((await upgraded.get("t"))!)).toEqual({ log: [0, 1, 2, 3, 4, 5] });
    await pool.query(`DROP SCHEMA "${schema}" CASCADE`);
  });
});

describe("group commit: puts that arrive together go as one statement", () => {
  /** A checkpointer on its own counting pool and schema. */
  async function open(options: { maxInFlight?: number } = {}) {
    const { pool: counted, count } = countingPool(16);
    const checkpointer = new PostgresCheckpointer({
      pool: counted,
      schema: schemaName(),
      groupCommit: { maxInFlight: options.maxInFlight ?? 1 },
      retry: { attempts: 8, initialDelayMs: 20 },
    });
    await checkpointer.setup();
    const done = async () => {
      await checkpointer.close();
      await counted.query(`DROP SCHEMA "${checkpointer.schema}" CASCADE`);
      await counted.end();
    };
    return { checkpointer, count, done };
  }

  it("writes every put of 64 threads running at once, in far fewer statements than puts", async () => {
    const { checkpointer, count, done } = await open();
    const writers = Array.from({ length: 64 }, (_, i) => new ThreadWriter(checkpointer, `t${i}`));
    const before = count();
    await Promise.all(
      writers.map(async (writer) => {
        for (let step = 0; step < 10; step += 1) await writer.write({ log: step });
      }),
    );
    const statements = count() - before;
    expect(statements).toBeLessThan(640 / 4);
    for (const writer of writers) {
      const history = await collect(checkpointer.list(writer.threadId));
      expect(history.map((h) => h.step)).toEqual([9, 8, 7, 6, 5, 4, 3, 2, 1, 0]);
      expect(rebuild((await checkpointer.get(writer.threadId))!)).toEqual({
        log: [0, 1, 2, 3, 4, 5, 6, 7, 8, 9],
      });
    }
    await done();
  });

  it("fails only the put whose head moved; the others of its batch commit", async () => {
    const { checkpointer, count, done } = await open();
    const writers = ["a", "b", "c", "d"].map((id) => new ThreadWriter(checkpointer, id));
    for (const writer of writers) await writer.write({ log: 0 });
    const c = writers[2]!;
    const stale = ThreadWriter.fork(c, c.head!, c.state);
    await c.write({ log: 1 }); // moves c's head past the one `stale` expects
    const before = count();
    // The first put takes the only slot; the next four wait and leave together.
    const first = new ThreadWriter(checkpointer, "z").write({ log: 0 });
    const outcomes = await Promise.allSettled([
      first,
      writers[0]!.write({ log: 1 }),
      writers[1]!.write({ log: 1 }),
      stale.write({ log: 2 }),
      writers[3]!.write({ log: 1 }),
    ]);
    // One statement alone, one batch, and the head read that tells the conflict.
    expect(count() - before).toBe(3);
    expect(outcomes.map((o) => o.status)).toEqual([
      "fulfilled",
      "fulfilled",
      "fulfilled",
      "rejected",
      "fulfilled",
    ]);
    const conflict = (outcomes[3] as PromiseRejectedResult).reason as CheckpointConflictError;
    expect(conflict).toBeInstanceOf(CheckpointConflictError);
    expect(conflict.data.actualHeadId).toBe(c.head!.id);
    for (const id of ["a", "b", "d"]) {
      expect(rebuild((await checkpointer.get(id))!)).toEqual({ log: [0, 1] });
    }
    expect((await collect(checkpointer.list("c"))).map((h) => h.step)).toEqual([1, 0]);
    await done();
  });

  it("a first put on a thread another writer created fails alone; its batchmates are written", async () => {
    const { checkpointer, done } = await open();
    await new ThreadWriter(checkpointer, "taken").write({ log: 0 });
    const outcomes = await Promise.allSettled([
      new ThreadWriter(checkpointer, "z").write({ log: 0 }),
      new ThreadWriter(checkpointer, "x").write({ log: 0 }),
      new ThreadWriter(checkpointer, "taken").write({ log: 1 }), // expects no head: there is one
      new ThreadWriter(checkpointer, "y").write({ log: 0 }),
    ]);
    expect(outcomes.map((o) => o.status)).toEqual([
      "fulfilled",
      "fulfilled",
      "rejected",
      "fulfilled",
    ]);
    expect((outcomes[2] as PromiseRejectedResult).reason).toBeInstanceOf(CheckpointConflictError);
    expect(rebuild((await checkpointer.get("taken"))!)).toEqual({ log: [0] });
    for (const id of ["x", "y"])
      expect(rebuild((await checkpointer.get(id))!)).toEqual({ log: [0] });
    await done();
  });

  it("fails only the fenced put whose lease was lost, and reports a pending cancel to its batchmate", async () => {
    const { checkpointer, count, done } = await open();
    const runs = checkpointer.runs;
    await runs.create({ threadId: "lost", graph: "g", input: 1 });
    const lapsed = await runs.claim({ workerId: "w1", leaseMs: 1 });
    await new Promise((resolve) => setTimeout(resolve, 20));
    const retaken = await runs.claim({ workerId: "w2", leaseMs: 60_000 });
    expect(retaken?.run.id).toBe(lapsed!.run.id);
    const held = await runs.create({ threadId: "held", graph: "g", input: 1 });
    const claim = await runs.claim({ workerId: "w3", leaseMs: 60_000 });
    expect(claim?.run.id).toBe(held.id);
    await runs.cancel(held.id); // running: asks its worker, who hears it from its next put
    const controls: string[] = [];
    const before = count();
    const outcomes = await Promise.allSettled([
      new ThreadWriter(checkpointer, "z").write({ log: 0 }),
      new ThreadWriter(checkpointer, "lost").write({ log: 0 }, { fence: lapsed!.fence }),
      new ThreadWriter(checkpointer, "held").write(
        { log: 0 },
        { fence: { ...claim!.fence, onControl: (control) => controls.push(control) } },
      ),
      new ThreadWriter(checkpointer, "free").write({ log: 0 }),
    ]);
    expect(count() - before).toBe(2);
    expect(outcomes.map((o) => o.status)).toEqual([
      "fulfilled",
      "rejected",
      "fulfilled",
      "fulfilled",
    ]);
    expect((outcomes[1] as PromiseRejectedResult).reason).toBeInstanceOf(LeaseLostError);
    expect(controls).toEqual(["cancel"]);
    expect(await checkpointer.get("lost")).toBeUndefined();
    expect((await checkpointer.get("held"))?.checkpoint.step).toBe(0);
    expect((await checkpointer.get("free"))?.checkpoint.step).toBe(0);
    await done();
  });

  it("a batch whose connection is killed in flight: each put is checked, then written once", async () => {
    const { checkpointer, done } = await open();
    const writers = Array.from({ length: 8 }, (_, i) => new ThreadWriter(checkpointer, `k${i}`));
    for (const writer of writers) await writer.write({ log: 0 });
    // Hold k7's head row, so that the batch waits on it, in flight, until killed.
    const blocker = await pool.connect();
    await blocker.query("BEGIN");
    await blocker.query(
      `SELECT 1 FROM "${checkpointer.schema}".heads WHERE thread_id = 'k7' FOR UPDATE`,
    );
    const first = new ThreadWriter(checkpointer, "z").write({ log: 0 });
    const batch = writers.map((writer) => writer.write({ log: 1 }));
    let killed = 0;
    for (let tries = 0; killed === 0 && tries < 200; tries += 1) {
      await new Promise((resolve) => setTimeout(resolve, 10));
      const { rows } = await pool.query<{ pid: number }>(
        `SELECT pid FROM pg_stat_activity
         WHERE wait_event_type = 'Lock' AND query LIKE '%unnest%' AND query LIKE $1`,
        [`%${checkpointer.schema}%`],
      );
      for (const { pid } of rows) {
        await pool.query("SELECT pg_terminate_backend($1)", [pid]);
        killed += 1;
      }
    }
    await blocker.query("ROLLBACK");
    blocker.release();
    expect(killed).toBe(1);
    const outcomes = await Promise.allSettled([first, ...batch]);
    for (const outcome of outcomes) {
      // Each put committed, or failed with an error worth retrying; here all are retried in time.
      if (outcome.status === "rejected") expect(outcome.reason).toMatchObject({ retryable: true });
    }
    expect(outcomes.every((o) => o.status === "fulfilled")).toBe(true);
    for (const writer of writers) {
      const history = await collect(checkpointer.list(writer.threadId));
      expect(history.map((h) => h.step)).toEqual([1, 0]); // once, not twice
    }
    await done();
  });
});
