import { execFile } from "node:child_process";
import { randomUUID } from "node:crypto";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import type { BaseMessage } from "@langchain/core/messages";
import { describe, expect, inject, it } from "vitest";
import { WaypointSaver } from "../src/index.js";
import { openStore } from "./app/open-store.js";

const run = promisify(execFile);
const app = fileURLToPath(new URL("./app/support-agent.ts", import.meta.url));
const tsx = fileURLToPath(new URL("../../../node_modules/.bin/tsx", import.meta.url));

/** Runs the app in a process of its own; its streamed updates, one per line. */
async function runApp(args: string[]): Promise<Record<string, unknown>[]> {
  const { stdout } = await run(tsx, ["--conditions=@waypoint/source", app, ...args], {
    timeout: 60_000,
  });
  return stdout
    .trim()
    .split("\n")
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}

const backends = [
  {
    backend: "postgres" as const,
    url: () => inject("pgUrl"),
    scope: () => `wp_app_${randomUUID().slice(0, 8)}`,
  },
  {
    backend: "redis" as const,
    url: () => inject("redisUrl"),
    scope: () => `wp-app-${randomUUID().slice(0, 8)}`,
  },
];

describe.each(backends)("an unchanged LangGraph.js app on WaypointSaver ($backend)", (target) => {
  it("streams to an interrupt in one process and resumes in another", async () => {
    const url = target.url();
    const scope = target.scope();
    const thread = `refund-${randomUUID()}`;

    const first = await runApp([target.backend, url, scope, thread, "start"]);
    expect(first.map((update) => Object.keys(update)[0])).toEqual(["agent", "__interrupt__"]);
    expect(JSON.stringify(first.at(-1))).toContain("Refund 40 on order A-17?");

    const second = await runApp([target.backend, url, scope, thread, "resume"]);
    expect(second.map((update) => Object.keys(update)[0])).toEqual(["tools", "agent"]);
    expect(JSON.stringify(second.at(-1))).toContain("Done: refunded 40 on A-17");

    // The thread as a third reader sees it: LangGraph's messages, in order, nothing pending.
    const store = await openStore(target.backend, url, scope);
    try {
      const head = await new WaypointSaver(store).getTuple({ configurable: { thread_id: thread } });
      const messages = head?.checkpoint.channel_values.messages as BaseMessage[];
      expect(messages.map((message) => [message.getType(), message.content])).toEqual([
        ["human", "Please refund order A-17"],
        ["ai", ""],
        ["tool", "refunded 40 on A-17"],
        ["ai", "Done: refunded 40 on A-17"],
      ]);
      expect(head?.pendingWrites).toEqual([]);
    } finally {
      await store.close();
    }
  });
});
