import { AIMessage, HumanMessage, type BaseMessage } from "@langchain/core/messages";
import {
  INTERRUPT,
  MemorySaver,
  uuid6,
  type BaseCheckpointSaver,
  type Checkpoint,
} from "@langchain/langgraph-checkpoint";
import type { RunnableConfig } from "@langchain/core/runnables";
import { CheckpointConflictError, MemoryCheckpointer } from "@waypoint/checkpoint";
import { describe, expect, it } from "vitest";
import { WaypointSaver } from "../src/index.js";

const metadata = (step: number) => ({ source: "loop" as const, step, parents: {} });

function checkpointOf(
  values: Record<string, unknown>,
  versions: Record<string, number>,
): Checkpoint {
  return {
    v: 4,
    id: uuid6(-1),
    ts: new Date().toISOString(),
    channel_values: values,
    channel_versions: versions,
    versions_seen: { agent: { messages: 1 } },
  };
}

/** Puts a thread whose message list grows by one message per superstep, as an agent's does. */
async function growThread(saver: BaseCheckpointSaver, threadId: string, steps: number) {
  let config: RunnableConfig = { configurable: { thread_id: threadId, checkpoint_ns: "" } };
  const messages: BaseMessage[] = [];
  for (let step = 0; step < steps; step += 1) {
    messages.push(
      step % 2 === 0
        ? new HumanMessage({ content: `question ${step}`, id: `m${step}` })
        : new AIMessage({ content: `answer ${step}`, id: `m${step}` }),
    );
    config = await saver.put(
      config,
      checkpointOf({ messages: [...messages], step }, { messages: step + 1, step: step + 1 }),
      metadata(step),
      { messages: step + 1, step: step + 1 },
    );
  }
  return { config, messages };
}

describe("WaypointSaver on Waypoint's storage", () => {
  it("stores a message list that only grew as an append of the new message", async () => {
    const store = new MemoryCheckpointer();
    const saver = new WaypointSaver(store);
    const { config, messages } = await growThread(saver, "grow", 6);

    const head = await store.get("grow");
    expect(head?.checkpoint.writes).toEqual([
      { taskId: "langgraph", channel: "messages", value: { a: [expect.anything()] } },
      { taskId: "langgraph", channel: "step", value: { v: { t: "json", j: 5 } } },
    ]);
    // A new saver reads it all back from the store: LangGraph's classes, unchanged.
    const tuple = await new WaypointSaver(store).getTuple(config);
    expect(tuple?.checkpoint.channel_values.messages).toEqual(messages);
    expect(tuple?.checkpoint.channel_values.step).toBe(5);
    const last = (tuple?.checkpoint.channel_values.messages as BaseMessage[]).at(-1);
    expect(last).toBeInstanceOf(AIMessage);
  });

  it("lists a thread's history with one load per snapshot, not one per checkpoint", async () => {
    const store = new MemoryCheckpointer({ snapshots: { maxChain: 8 } });
    const { messages } = await growThread(new WaypointSaver(store), "history", 20);
    let loads = 0;
    const counted = Object.assign(Object.create(store) as MemoryCheckpointer, {
      get: (...args: Parameters<MemoryCheckpointer["get"]>) => {
        loads += 1;
        return store.get(...args);
      },
    });
    const listed: BaseMessage[][] = [];
    for await (const tuple of new WaypointSaver(counted).list({
      configurable: { thread_id: "history", checkpoint_ns: "" },
    })) {
      listed.push(tuple.checkpoint.channel_values.messages as BaseMessage[]);
    }
    expect(listed.map((list) => list.length)).toEqual(
      [...Array(20).keys()].map((index) => 20 - index),
    );
    expect(listed[0]).toEqual(messages);
    expect(loads).toBe(3);
  });

  it("keeps LangGraph's channel versions in Waypoint's own header fields when they fit", async () => {
    const store = new MemoryCheckpointer();
    const saver = new WaypointSaver(store);
    await growThread(saver, "versions", 3);
    const head = await store.get("versions");
    expect(head?.checkpoint.channelVersions).toEqual({ messages: 3, step: 3 });
    expect(head?.checkpoint.versionsSeen).toEqual({ agent: { messages: 1 } });
    expect(Object.keys(head?.checkpoint.metadata.__langgraph__ ?? {})).toEqual(["v", "ts"]);

    // String versions and an empty node name do not fit: they ride whole in the metadata.
    const odd = {
      ...checkpointOf({ step: 1 }, {}),
      channel_versions: { step: "v1" },
      versions_seen: { "": { step: "v1" } },
    };
    const config = await saver.put({ configurable: { thread_id: "odd" } }, odd, metadata(0), {
      step: "v1",
    });
    expect((await saver.getTuple(config))?.checkpoint).toEqual(odd);
  });

  it("stores a list whose old items changed as the whole list", async () => {
    const store = new MemoryCheckpointer();
    const saver = new WaypointSaver(store);
    const { config, messages } = await growThread(saver, "edit", 3);
    const edited = [messages[0]!, new AIMessage({ content: "edited", id: "m1" }), messages[2]!];
    const next = await saver.put(
      config,
      checkpointOf({ messages: edited }, { messages: 9 }),
      metadata(3),
      {
        messages: 9,
      },
    );
    const head = await store.get("edit");
    expect(head?.checkpoint.writes.find((write) => write.channel === "messages")?.value).toEqual({
      l: [expect.anything(), expect.anything(), expect.anything()],
    });
    expect((await saver.getTuple(next))?.checkpoint.channel_values.messages).toEqual(edited);
  });

  it("writes a growing thread in bytes that do not grow with the thread", async () => {
    const store = new MemoryCheckpointer();
    await growThread(new WaypointSaver(store), "bytes", 60);
    const exported = await store.exportThread("bytes");
    const deltas = exported.checkpoints.filter((record) => record.snapshot === null);
    const early = JSON.stringify(deltas[5]!.writes).length;
    const late = JSON.stringify(deltas.at(-1)!.writes).length;
    expect(deltas.length).toBeGreaterThan(30);
    expect(late).toBeLessThan(early * 1.5);
  });

  it("forks by default when a put's parent is no longer the head, as LangGraph does", async () => {
    const saver = new WaypointSaver(new MemoryCheckpointer());
    const { config: parent } = await growThread(saver, "fork", 2);
    const first = await saver.put(parent, checkpointOf({ step: 10 }, { step: 10 }), metadata(2), {
      step: 10,
    });
    const second = await saver.put(parent, checkpointOf({ step: 20 }, { step: 20 }), metadata(2), {
      step: 20,
    });

    const head = await saver.getTuple({ configurable: { thread_id: "fork" } });
    expect(head?.config).toEqual(second);
    expect(head?.parentConfig?.configurable?.checkpoint_id).toBe(
      parent.configurable?.checkpoint_id,
    );
    expect(head?.checkpoint.channel_values.step).toBe(20);
    expect((await saver.getTuple(first))?.checkpoint.channel_values.step).toBe(10);
    const listed = [];
    for await (const tuple of saver.list({
      configurable: { thread_id: "fork", checkpoint_ns: "" },
    })) {
      listed.push(tuple.config.configurable?.checkpoint_id);
    }
    expect(listed.slice(0, 2)).toEqual(
      [second, first].map((c) => c.configurable?.checkpoint_id as string),
    );
    expect(listed).toHaveLength(4);
  });

  it("with strict: true, refuses a put whose parent is no longer the head", async () => {
    const saver = new WaypointSaver(new MemoryCheckpointer(), { strict: true });
    const { config: parent } = await growThread(saver, "strict", 2);
    await saver.put(parent, checkpointOf({ step: 10 }, { step: 10 }), metadata(2), { step: 10 });
    await expect(
      saver.put(parent, checkpointOf({ step: 20 }, { step: 20 }), metadata(2), { step: 20 }),
    ).rejects.toBeInstanceOf(CheckpointConflictError);
  });

  it("keeps a task's first write at an index and its last interrupt, as MemorySaver does", async () => {
    const results = [];
    for (const saver of [new MemorySaver(), new WaypointSaver(new MemoryCheckpointer())]) {
      const { config } = await growThread(saver, "writes", 1);
      await saver.putWrites(
        config,
        [
          ["messages", "first"],
          [INTERRUPT, "ask 1"],
        ],
        "task",
        "~path",
      );
      await saver.putWrites(
        config,
        [
          ["messages", "second"],
          [INTERRUPT, "ask 2"],
        ],
        "task",
        "~path",
      );
      await saver.putWrites(config, [["step", 1]], "early", "");
      results.push((await saver.getTuple(config))?.pendingWrites);
    }
    expect(results[1]).toEqual(results[0]);
    expect(results[1]).toEqual([
      ["early", "step", 1],
      ["task", INTERRUPT, "ask 2"],
      ["task", "messages", "first"],
    ]);
  });

  it("keeps writes that LangGraph saves before the put of their checkpoint", async () => {
    // LangGraph chains its puts in the background, not its writes.
    const saver = new WaypointSaver(new MemoryCheckpointer());
    const { config: parent } = await growThread(saver, "early", 1);
    const checkpoint = checkpointOf({ step: 1 }, { step: 2 });
    const config = {
      configurable: { thread_id: "early", checkpoint_ns: "", checkpoint_id: checkpoint.id },
    };
    await saver.putWrites(config, [["messages", "hi"]], "task", "~a");
    await saver.putWrites(
      config,
      [
        ["messages", "again"],
        [INTERRUPT, "ask"],
      ],
      "task",
      "~a",
    );
    await saver.put(parent, checkpoint, metadata(1), { step: 2 });
    expect((await saver.getTuple(config))?.pendingWrites).toEqual([
      ["task", INTERRUPT, "ask"],
      ["task", "messages", "hi"],
    ]);
  });

  it("deletes with a thread the writes still waiting for their checkpoint's put", async () => {
    const saver = new WaypointSaver(new MemoryCheckpointer());
    const checkpoint = checkpointOf({ step: 1 }, { step: 1 });
    const config = {
      configurable: { thread_id: "gone", checkpoint_ns: "", checkpoint_id: checkpoint.id },
    };
    await saver.putWrites(config, [["messages", "stale"]], "task");
    await saver.deleteThread("gone");
    await saver.put({ configurable: { thread_id: "gone" } }, checkpoint, metadata(0), { step: 1 });
    expect((await saver.getTuple(config))?.pendingWrites).toEqual([]);
  });

  it("prunes and copies LangGraph threads with Waypoint's retention", async () => {
    // A snapshot every 4 checkpoints: prune keeps what a kept checkpoint needs to load.
    const saver = new WaypointSaver(new MemoryCheckpointer({ snapshots: { maxChain: 4 } }));
    const { config, messages } = await growThread(saver, "retained", 12);
    await saver.prune({ threadId: "retained", keepLast: 3 });
    const kept = [];
    for await (const tuple of saver.list({ configurable: { thread_id: "retained" } }))
      kept.push(tuple);
    expect(kept.length).toBeGreaterThanOrEqual(3);
    expect(kept.length).toBeLessThan(12);
    expect(kept[0]?.checkpoint.channel_values.messages).toEqual(messages);

    await saver.copyThread("retained", "copied");
    const copied = await saver.getTuple({ configurable: { thread_id: "copied" } });
    expect(copied?.checkpoint.id).toBe(config.configurable?.checkpoint_id);
    expect(copied?.checkpoint.channel_values.messages).toEqual(messages);
  });
});
