import { describe, expect, it } from "vitest";
import { trigger } from "../src/channels/trigger.js";
import { topic } from "../src/channels/topic.js";
import { SENDS_CHANNEL } from "../src/constants.js";
import { plan } from "../src/pregel/planner.js";

function channels(available: string[], sends: unknown[] = []) {
  const map = new Map();
  for (const name of ["branch:to:a", "branch:to:b"]) {
    const channel = trigger().create();
    if (available.includes(name)) channel.update([true]);
    map.set(name, channel);
  }
  const sendChannel = topic({ accumulate: false }).create();
  sendChannel.update(sends);
  map.set(SENDS_CHANNEL, sendChannel);
  return map;
}

const nodes = [
  { name: "a", triggers: ["branch:to:a"] },
  { name: "b", triggers: ["branch:to:b"] },
];
const base = { nodes, threadId: "t", namespace: "", checkpointId: "c1" };

describe("the planner (pure: no I/O)", () => {
  it("plans a node whose trigger has a version it has not seen, and marks it seen", () => {
    const result = plan({
      ...base,
      channels: channels(["branch:to:a"]),
      versions: { "branch:to:a": 2 },
      versionsSeen: { a: { "branch:to:a": 1 } },
    });
    expect(result.tasks.map((t) => [t.node, t.triggers])).toEqual([["a", ["branch:to:a"]]]);
    expect(result.versionsSeen.a).toEqual({ "branch:to:a": 2 });
  });

  it("skips nodes whose triggers are seen or empty", () => {
    const seen = plan({
      ...base,
      channels: channels(["branch:to:a"]),
      versions: { "branch:to:a": 2 },
      versionsSeen: { a: { "branch:to:a": 2 } },
    });
    expect(seen.tasks).toEqual([]);
    const empty = plan({
      ...base,
      channels: channels([]),
      versions: { "branch:to:a": 3 },
      versionsSeen: {},
    });
    expect(empty.tasks).toEqual([]);
  });

  it("gives the same ids for the same inputs and different ids for another checkpoint", () => {
    const input = {
      ...base,
      channels: channels(["branch:to:a", "branch:to:b"]),
      versions: { "branch:to:a": 1, "branch:to:b": 1 },
      versionsSeen: {},
    };
    const first = plan(input).tasks.map((t) => t.id);
    expect(plan(input).tasks.map((t) => t.id)).toEqual(first);
    expect(new Set(first).size).toBe(2);
    expect(plan({ ...input, checkpointId: "c2" }).tasks.map((t) => t.id)).not.toEqual(first);
  });

  it("gives the ids stored threads hold: thread, namespace, checkpoint, node and its triggers, or the Send's place", () => {
    // Pinned: pending writes and recorded effects are stored under these ids.
    const joined = plan({
      ...base,
      namespace: "ns:1",
      nodes: [{ name: "j", triggers: ["branch:to:a", "branch:to:b"] }],
      channels: channels(["branch:to:a", "branch:to:b"]),
      versions: { "branch:to:a": 1, "branch:to:b": 1 },
      versionsSeen: {},
    });
    expect(joined.tasks.map((t) => t.id)).toEqual(["2ebc8a2e-e3ee-1e3d-2c5b-d6aa17887dbf"]);
    const result = plan({
      ...base,
      channels: channels(
        ["branch:to:a"],
        [
          { node: "b", payload: 1 },
          { node: "b", payload: 2 },
        ],
      ),
      versions: { "branch:to:a": 1 },
      versionsSeen: {},
    });
    expect(result.tasks.map((t) => t.id)).toEqual([
      "ceca8df3-c7d0-16b6-c36a-00138cd6b754",
      "2224b696-6172-9bb1-dee1-b89a6bd74618",
      "d3902646-d9cb-e144-74b6-9e2b44f28265",
    ]);
  });

  it("plans node tasks in declaration order, then one task per Send in write order", () => {
    const result = plan({
      ...base,
      channels: channels(
        ["branch:to:b"],
        [
          { node: "a", payload: 1 },
          { node: "a", payload: 2 },
        ],
      ),
      versions: { "branch:to:b": 1 },
      versionsSeen: {},
    });
    expect(result.tasks.map((t) => [t.node, t.send?.payload])).toEqual([
      ["b", undefined],
      ["a", 1],
      ["a", 2],
    ]);
  });
});
