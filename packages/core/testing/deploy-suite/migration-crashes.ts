import type { Checkpointer } from "@waypoint/checkpoint";
import { expect, it } from "vitest";
import { Command } from "../../src/constants.js";
import { InjectedFault, armFault, disarmFaults } from "../../src/faults.js";
import { Sink, essayV1, essayV2, expectOneChain, storedOf } from "./essay-graphs.js";

/** A crash during a migration leaves the old head or the migrated one, whole; resuming finishes it. */
export function migrationCrashTests(store: () => Promise<Checkpointer>): void {
  /** A store whose first put lands and then "crashes" before the writer hears back. */
  function lostAck(checkpointer: Checkpointer): Checkpointer {
    let crashed = false;
    return new Proxy(checkpointer, {
      get(target, property) {
        const value: unknown = Reflect.get(target, property, target);
        if (property === "put" && !crashed) {
          return async (request: Parameters<Checkpointer["put"]>[0]) => {
            await target.put(request);
            crashed = true;
            throw new Error("crash after the store wrote");
          };
        }
        return typeof value === "function" ? (value as () => unknown).bind(target) : value;
      },
    });
  }

  it.each(["before-commit", "after-commit", "inside put, after the store wrote"] as const)(
    "a crash during the migration (%s) leaves the old head or the migrated one; resuming finishes, the effect applied once",
    async (point) => {
      const checkpointer = await store();
      const sink = new Sink();
      await essayV1(checkpointer, sink).invoke({ topic: "tides" }, { threadId: "t" });
      const before = await storedOf(checkpointer, "t");
      const migrations = { 2: (s: Record<string, unknown>) => ({ ...s, draft: "migrated" }) };
      let crashing = essayV2(checkpointer, sink, { migrations });
      if (point === "inside put, after the store wrote")
        crashing = essayV2(lostAck(checkpointer), sink, { migrations });
      else armFault(point, "throw");
      const error = await crashing
        .invoke(new Command({ resume: "yes" }), { threadId: "t" })
        .catch((e: unknown) => e);
      expect(error).toBeInstanceOf(point === "before-commit" ? InjectedFault : Error);
      disarmFaults();
      const after = await storedOf(checkpointer, "t");
      if (point === "before-commit") {
        expect(after).toEqual(before);
      } else {
        // The migrated head, whole: the old head's parent, the migrated state, every pending write carried.
        expect(after.headers.slice(1)).toEqual(before.headers);
        expect(after.headers[0]!.metadata).toMatchObject({ source: "migration" });
        expect(after.headers[0]!.next).toEqual(before.headers[0]!.next);
        const carried = (writes: typeof after.pendingWrites) =>
          writes.map((w) => [w.taskId, w.idx, w.channel, w.value]);
        expect(carried(after.pendingWrites)).toEqual(
          expect.arrayContaining(carried(before.pendingWrites)),
        );
        const head = await essayV2(checkpointer, sink).getState("t");
        expect(head?.values.draft).toBe("migrated");
      }
      const v2 = essayV2(checkpointer, sink, { migrations });
      const done = await v2.invoke(new Command({ resume: "yes" }), { threadId: "t" });
      expect(done.draft).toBe("migrated (plain)");
      expect(done.log).toEqual([
        "draft",
        `review:yes:${sink.keys[0]!.slice(0, 12)}`,
        "polish:plain",
      ]);
      expect(sink.keys).toHaveLength(1);
      const { headers } = await storedOf(checkpointer, "t");
      expectOneChain(headers);
      expect(headers.filter((h) => h.metadata.source === "migration")).toHaveLength(1);
    },
  );
}
