import { describe, expect, it } from "vitest";
import { CorruptRecordError } from "@waypoint/checkpoint";
import { END, START, StateGraph, defineState } from "@waypoint/core";
import { STORES, appendLog } from "./support/stores.js";

const State = defineState({ log: appendLog() });

describe.each(STORES)("a hand-damaged snapshot on $name", (store) => {
  it("a reducer snapshot holding a string is CORRUPT_RECORD naming the thread, checkpoint and channel; other threads still load", async () => {
    const checkpointer = store.create();
    const graph = new StateGraph(State)
      .addNode("a", () => ({ log: "a" }))
      .addEdge(START, "a")
      .addEdge("a", END)
      .compile({ checkpointer });
    await graph.invoke({ log: "in" }, { threadId: "good" });
    const exported = await checkpointer.exportThread("good");
    // The same thread under another id, its snapshots' "log" replaced by a string.
    const damaged = {
      ...exported,
      threadId: "damaged",
      checkpoints: exported.checkpoints.map((record) => ({
        ...record,
        threadId: "damaged",
        snapshot:
          record.snapshot === null
            ? null
            : JSON.stringify(
                (JSON.parse(record.snapshot) as unknown[][]).map((entry) =>
                  entry[0] === "log" ? ["log", "not a list"] : entry,
                ),
              ),
      })),
      pendingWrites: exported.pendingWrites.map((write) => ({ ...write, threadId: "damaged" })),
    };
    await checkpointer.importThread(damaged);

    const error = await graph.getState("damaged").catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(CorruptRecordError);
    expect((error as Error).message).toMatch(/thread "damaged".*checkpoint .*channel "log"/);
    await expect(graph.invoke({ log: "more" }, { threadId: "damaged" })).rejects.toMatchObject({
      code: "CORRUPT_RECORD",
    });
    // Nothing was revived or written; the good thread is as it was.
    expect((await graph.getState("good"))?.values.log).toEqual(["in", "a"]);
    const listed = [];
    for await (const header of checkpointer.list("damaged")) listed.push(header.id);
    expect(listed).toHaveLength(exported.checkpoints.length);
  });
});
