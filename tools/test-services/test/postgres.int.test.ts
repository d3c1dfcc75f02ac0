import { existsSync } from "node:fs";
import pg from "pg";
import { afterEach, expect, inject, test } from "vitest";
import { startPostgres, type PostgresServer } from "../src/index.js";

const clients: pg.Client[] = [];
const servers: PostgresServer[] = [];

async function connect(url: string): Promise<pg.Client> {
  const client = new pg.Client({ connectionString: url });
  clients.push(client);
  await client.connect();
  return client;
}

async function setting(client: pg.Client, name: "server_version" | "fsync"): Promise<string> {
  const result = await client.query<Record<string, string>>(`SHOW ${name}`);
  return result.rows[0]?.[name] ?? "";
}

afterEach(async () => {
  await Promise.all(clients.splice(0).map((client) => client.end()));
  await Promise.all(servers.splice(0).map((server) => server.stop()));
});

test("the shared server is PostgreSQL 15 and stores rows", async () => {
  const client = await connect(inject("pgUrl"));
  expect(await setting(client, "server_version")).toMatch(/^15/);

  await client.query("CREATE TEMP TABLE smoke (id int PRIMARY KEY, note text)");
  await client.query("INSERT INTO smoke VALUES ($1, $2)", [1, "hello"]);
  const { rows } = await client.query("SELECT id, note FROM smoke");
  expect(rows).toEqual([{ id: 1, note: "hello" }]);
});

test("a row survives restart() and kill() + restart(); stop() removes the data", async () => {
  const server = await startPostgres();
  servers.push(server);
  const writer = await connect(server.url);
  expect(await setting(writer, "fsync")).toBe("off");
  await writer.query("CREATE TABLE kept (note text)");
  await writer.query("INSERT INTO kept VALUES ('before restart')");
  await writer.end(); // the server is about to drop this connection

  await server.restart();
  const afterRestart = await connect(server.url);
  await afterRestart.query("INSERT INTO kept VALUES ('before kill')");
  await afterRestart.end();

  await server.kill();
  await server.restart();
  const reader = await connect(server.url);
  const { rows } = await reader.query("SELECT note FROM kept ORDER BY note");
  expect(rows).toEqual([{ note: "before kill" }, { note: "before restart" }]);
  await reader.end();

  await server.stop();
  expect(existsSync(server.dataDir)).toBe(false);
});

test("durable: true leaves fsync on", async () => {
  const server = await startPostgres({ durable: true });
  servers.push(server);
  const client = await connect(server.url);
  expect(await setting(client, "fsync")).toBe("on");
});
