import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Redis } from "ioredis";
import { afterEach, expect, inject, test } from "vitest";
import { startRedis, type RedisServer } from "../src/index.js";

const clients: Redis[] = [];
const servers: RedisServer[] = [];

function connect(url: string): Redis {
  const client = new Redis(url);
  clients.push(client);
  return client;
}

afterEach(async () => {
  for (const client of clients.splice(0)) client.disconnect();
  await Promise.all(servers.splice(0).map((server) => server.stop()));
});

test("the shared server is plain Redis and stores keys", async () => {
  const client = connect(inject("redisUrl"));
  await client.set("smoke", "hello");
  expect(await client.get("smoke")).toBe("hello");
  expect(await client.call("MODULE", "LIST")).toEqual([]);
});

test("by default nothing is persisted", async () => {
  const server = await startRedis();
  servers.push(server);
  const client = connect(server.url);
  expect(await client.config("GET", "save")).toEqual(["save", ""]);
  expect(await client.config("GET", "appendonly")).toEqual(["appendonly", "no"]);
});

test("with appendOnly, a key survives kill() + restart(); stop() removes the dir", async () => {
  const server = await startRedis({ appendOnly: true });
  servers.push(server);
  const writer = connect(server.url);
  await writer.set("kept", "before kill");
  writer.disconnect();

  await server.kill();
  await server.restart();
  const reader = connect(server.url);
  expect(await reader.get("kept")).toBe("before kill");
  reader.disconnect();

  await server.stop();
  expect(existsSync(server.dir)).toBe(false);
});

test("without redis-server on PATH, the error says how to install it", async () => {
  const emptyDir = mkdtempSync(join(tmpdir(), "waypoint-no-redis-"));
  const path = process.env.PATH;
  process.env.PATH = emptyDir;
  try {
    await expect(startRedis()).rejects.toThrow("bash scripts/setup.sh");
  } finally {
    process.env.PATH = path;
    rmSync(emptyDir, { recursive: true });
  }
});
