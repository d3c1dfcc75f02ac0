import { randomUUID } from "node:crypto";
import { createRequire } from "node:module";
import { PostgresCheckpointer, SCHEMA_VERSION } from "@waypoint/checkpoint-postgres";
import { freePort } from "@waypoint/test-services";
import { afterAll, describe, expect, inject, it } from "vitest";
import { cli } from "./cli-harness.js";
import { runCliSuite } from "./cli-suite.js";

const url = inject("pgUrl");
// pg is @waypoint/checkpoint-postgres's dependency, not the CLI's: borrowed for a few statements.
interface SqlPool {
  query<Row>(text: string, values?: unknown[]): Promise<{ rows: Row[] }>;
  end(): Promise<void>;
}
const { Pool } = createRequire(new URL("../../checkpoint-postgres/package.json", import.meta.url))(
  "pg",
) as { Pool: new (options: { connectionString: string; max: number }) => SqlPool };
const pool = new Pool({ connectionString: url, max: 2 });
const schemas: string[] = [];
const newSchema = () => {
  const schema = `cli_${randomUUID().slice(0, 8)}`;
  schemas.push(schema);
  return schema;
};
afterAll(async () => {
  for (const schema of schemas) await pool.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
  await pool.end();
});

// A fresh schema per suite, on the PostgreSQL the int project's setup started.
runCliSuite({
  name: "PostgreSQL",
  create: async () => {
    const schema = newSchema();
    const checkpointer = new PostgresCheckpointer({ connectionString: url, schema });
    await checkpointer.setup();
    return { args: ["--store", url, "--schema", schema], checkpointer };
  },
});

describe("waypoint CLI: PostgreSQL errors", () => {
  it("an unreachable server is STORAGE_UNAVAILABLE within the store's timeout (9 s), or --timeout", async () => {
    const port = await freePort();
    const store = `postgres://waypoint@127.0.0.1:${port}/waypoint`;
    let started = Date.now();
    const result = await cli(["threads", "--store", store]);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/^error STORAGE_UNAVAILABLE: PostgreSQL was unavailable/);
    expect(result.stderrAt! - started).toBeLessThan(9_000 + 1_500);
    started = Date.now();
    const quick = await cli(["show", "t", "--store", store, "--timeout", "1000"]);
    expect(quick.code).toBe(1);
    expect(quick.stderr).toMatch(/^error STORAGE_UNAVAILABLE: /);
    expect(quick.stderrAt! - started).toBeLessThan(1_000 + 1_500);
  }, 30_000);

  it("a schema of a newer version is UNSUPPORTED_FORMAT_VERSION, and nothing is changed", async () => {
    const schema = newSchema();
    const checkpointer = new PostgresCheckpointer({ connectionString: url, schema });
    await checkpointer.setup();
    await checkpointer.close();
    await pool.query(`INSERT INTO "${schema}".migrations (version) VALUES ($1)`, [
      SCHEMA_VERSION + 1,
    ]);
    const result = await cli(["threads", "--store", url, "--schema", schema]);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(
      new RegExp(
        `^error UNSUPPORTED_FORMAT_VERSION: .*"${schema}" has format version ${SCHEMA_VERSION + 1}`,
      ),
    );
    const { rows } = await pool.query<{ max: number }>(
      `SELECT max(version) AS max FROM "${schema}".migrations`,
    );
    expect(rows[0]!.max).toBe(SCHEMA_VERSION + 1);
  });

  it("--prefix is refused on a PostgreSQL store", async () => {
    const result = await cli(["threads", "--store", url, "--prefix", "x"]);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain("--prefix is for Redis stores");
  });
});
