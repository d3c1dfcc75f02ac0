import { request as httpRequest } from "node:http";
import { MemoryCheckpointer } from "@waypoint/checkpoint";
import { expect, it } from "vitest";
import { startInspector } from "../src/index.js";
import { buildApprovalGraph } from "./support/approval-graph.js";

it("listens on 127.0.0.1 on a free port, prints a token, takes writes with it, and closes", async () => {
  const checkpointer = new MemoryCheckpointer();
  const graph = buildApprovalGraph(checkpointer);
  await graph.invoke({ request: "a lantern" }, { threadId: "order-1" });
  const inspector = await startInspector({ checkpointer, graphs: { approval: graph } });
  expect(inspector.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/);
  expect(inspector.token.length).toBeGreaterThanOrEqual(32);
  const page = await fetch(inspector.url);
  expect(page.headers.get("content-type")).toContain("text/html");
  const preact = await fetch(new URL("/vendor/preact-htm.js", inspector.url));
  expect(await preact.text()).toContain("export");
  const answer = await fetch(new URL("/api/threads/order-1/resume", inspector.url), {
    method: "POST",
    headers: { "content-type": "application/json", "x-waypoint-token": inspector.token },
    body: JSON.stringify({ value: { approved: true } }),
  });
  expect(answer.status).toBe(200);
  expect((await graph.getState("order-1"))!.values.outcome).toBe("ordered");
  await inspector.close();
  await expect(fetch(inspector.url)).rejects.toThrow();
});

it("takes a token of the caller's choosing", async () => {
  const inspector = await startInspector({ checkpointer: new MemoryCheckpointer(), token: "mine" });
  const refused = await fetch(new URL("/api/runs/x/cancel", inspector.url), { method: "POST" });
  expect(refused.status).toBe(401);
  const accepted = await fetch(new URL("/api/runs/0000/cancel", inspector.url), {
    method: "POST",
    headers: { authorization: "Bearer mine" },
  });
  expect(accepted.status).toBe(404);
  await inspector.close();
});

it("refuses a request that names another host (DNS rebinding)", async () => {
  const inspector = await startInspector({ checkpointer: new MemoryCheckpointer() });
  const status = (host: string) =>
    new Promise<number>((resolve, reject) => {
      const request = httpRequest(new URL("/api/threads", inspector.url), { headers: { host } });
      request.on("response", (response) => {
        response.resume();
        resolve(response.statusCode ?? 0);
      });
      request.on("error", reject);
      request.end();
    });
  const port = new URL(inspector.url).port;
  expect(await status(`attacker.test:${port}`)).toBe(403);
  expect(await status(`localhost:${port}`)).toBe(200);
  expect(await status(`127.0.0.1:${port}`)).toBe(200);
  await inspector.close();
});
