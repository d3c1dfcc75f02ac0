import { setTimeout as sleep } from "node:timers/promises";
import { MemoryCheckpointer, type Checkpointer } from "@waypoint/checkpoint";
import {
  Client,
  END,
  START,
  StateGraph,
  Worker,
  defineState,
  lastValue,
  reducer,
  type WorkerEvent,
} from "@waypoint/core";
import { describe, expect, it } from "vitest";
import { STORES } from "./support/stores.js";

const State = defineState({
  log: reducer(
    (log: string[], item: string) => [...log, item],
    () => [],
  ),
  note: lastValue<string>(),
});

/** Version `version` of one graph: each step appends "<step>@v<version>". */
function graphAt(checkpointer: Checkpointer, version: number) {
  return new StateGraph(State)
    .addNode("a", () => ({ log: `a@v${version}` }))
    .addNode("b", () => ({ log: `b@v${version}` }))
    .addEdge(START, "a")
    .addEdge("a", "b")
    .addEdge("b", END)
    .compile({ checkpointer, name: "steps", version });
}

describe.each(STORES)("rolling deploys on $name", (store) => {
  it("a worker leaves a run whose thread a newer version wrote, and a newer worker runs it", async () => {
    const checkpointer = store.create();
    const client = new Client({ checkpointer });
    const v1 = graphAt(checkpointer, 1);
    const v2 = graphAt(checkpointer, 2);
    await v2.invoke({ log: "start" }, { threadId: "written-by-v2" });
    const run = await client.runs.create("written-by-v2", { log: "again" }, { graph: "steps" });

    const events: WorkerEvent[] = [];
    const old = new Worker({ graphs: { steps: v1 }, pollMs: 5, onEvent: (e) => events.push(e) });
    old.start();
    while (events.length < 2) await sleep(5);
    await old.drain();
    // v1 never wrote the thread, and gave the run back each time.
    expect(events[0]).toMatchObject({
      type: "run-left",
      reason: "newer-version",
      threadVersion: 2,
      workerVersion: 1,
    });
    expect((await client.runs.get(run.id))?.status).toBe("pending");
    for await (const header of checkpointer.list("written-by-v2"))
      expect(header.metadata.graph).toMatchObject({ version: 2 });

    const fresh = new Worker({ graphs: { steps: v2 }, pollMs: 5 }).start();
    const ended = await client.runs.wait(run.id, { timeoutMs: 10_000 });
    expect(ended.status).toBe("succeeded");
    expect(ended.graphVersion).toBe(2);
    await fresh.drain();
    expect((await v2.getState("written-by-v2"))?.values.log).toEqual([
      "start",
      "a@v2",
      "b@v2",
      "again",
      "a@v2",
      "b@v2",
    ]);
  });

  it("a newer worker takes over an older version's thread and records its own version", async () => {
    const checkpointer = store.create();
    const client = new Client({ checkpointer });
    await graphAt(checkpointer, 1).invoke({ log: "start" }, { threadId: "written-by-v1" });
    const run = await client.runs.create("written-by-v1", { log: "again" }, { graph: "steps" });
    const events: WorkerEvent[] = [];
    const worker = new Worker({
      graphs: { steps: graphAt(checkpointer, 2) },
      pollMs: 5,
      onEvent: (e) => events.push(e),
    }).start();
    expect((await client.runs.wait(run.id, { timeoutMs: 10_000 })).status).toBe("succeeded");
    await worker.drain();
    expect(events).toEqual([]);
    expect((await client.runs.get(run.id))?.graphVersion).toBe(2);
    const queued = await client.runs.create("written-by-v1", { log: "later" }, { graph: "steps" });
    expect((await client.runs.get(queued.id))?.graphVersion).toBeNull();
    const versions: unknown[] = [];
    for await (const header of checkpointer.list("written-by-v1"))
      versions.push((header.metadata.graph as { version: number }).version);
    expect(versions.slice(0, 3)).toEqual([2, 2, 2]);
    expect(versions.at(-1)).toBe(1);
  });
});

it("a graph compiled under another name is not compared: the worker runs it", async () => {
  const checkpointer = new MemoryCheckpointer();
  const other = new StateGraph(State)
    .addNode("x", () => ({ note: "other" }))
    .addEdge(START, "x")
    .addEdge("x", END)
    .compile({ checkpointer, name: "other", version: 9 });
  await other.invoke({ note: "n" }, { threadId: "shared" });
  const client = new Client({ checkpointer });
  const run = await client.runs.create("shared", { log: "mine" }, { graph: "steps" });
  const worker = new Worker({ graphs: { steps: graphAt(checkpointer, 1) }, pollMs: 5 }).start();
  expect((await client.runs.wait(run.id, { timeoutMs: 10_000 })).status).toBe("succeeded");
  await worker.drain();
});
