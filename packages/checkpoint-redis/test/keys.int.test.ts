import fc from "fast-check";
import { Redis } from "ioredis";
import { afterAll, describe, expect, inject, it } from "vitest";
import { InvalidArgumentError } from "@waypoint/checkpoint";
import { ThreadWriter, collect } from "@waypoint/checkpoint/testing";
import { RedisCheckpointer } from "@waypoint/checkpoint-redis";
import { isId } from "./support/ids.js";

const redis = new Redis(inject("redisUrl"));
afterAll(() => redis.quit());

/** Ids rich in the characters keys are spelled with. */
const id = fc
  .string({
    unit: fc.constantFrom("a", "b", "0", "8", ":", "{", "}", "(", ")", "%"),
    minLength: 1,
    maxLength: 10,
  })
  .filter(isId);

describe("Redis keys of hostile thread ids and namespaces", () => {
  it("does not let thread a with namespace 'abcd}:0:' spell thread 'a}:8:abcd' (issue 17)", async () => {
    const checkpointer = new RedisCheckpointer({ redis, prefix: `keys-${process.pid}` });
    await new ThreadWriter(checkpointer, "a", "abcd}:0:").write({ log: 1 });
    expect(await checkpointer.get("a}:8:abcd")).toBeUndefined();
    expect(await collect(checkpointer.list("a}:8:abcd"))).toEqual([]);
    expect((await checkpointer.get("a", { namespace: "abcd}:0:" }))?.checkpoint.step).toBe(0);
  });

  it("never makes one (thread, namespace) readable by writing another", async () => {
    let round = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.tuple(id, fc.oneof(fc.constant(""), id)),
        fc.tuple(id, fc.oneof(fc.constant(""), id)),
        async ([t1, ns1], [t2, ns2]) => {
          fc.pre(t1 !== t2 || ns1 !== ns2);
          const prefix = `keys-${process.pid}-${(round += 1)}`;
          const checkpointer = new RedisCheckpointer({ redis, prefix });
          await new ThreadWriter(checkpointer, t1, ns1).write({ log: 1 });
          expect(await checkpointer.get(t2, { namespace: ns2 })).toBeUndefined();
          expect(await collect(checkpointer.list(t2, { namespace: ns2 }))).toEqual([]);
          expect((await checkpointer.get(t1, { namespace: ns1 }))?.checkpoint.step).toBe(0);
          // Every key written carries the thread's own tag, one `}` (its end) in it.
          for (const key of await redis.keys(`{${prefix}:*`))
            expect(key.slice(0, key.indexOf("}") + 1)).toBe(
              `{${prefix}:${t1.replace(/[{}]/g, (b) => (b === "{" ? "{(" : "{)"))}}`,
            );
        },
      ),
      { numRuns: 150 },
    );
  });

  it("refuses a prefix with a brace, naming the option", () => {
    const error = (() => {
      try {
        return new RedisCheckpointer({ redis, prefix: "a}b" });
      } catch (e) {
        return e;
      }
    })();
    expect(error).toBeInstanceOf(InvalidArgumentError);
    expect((error as InvalidArgumentError).message).toContain("options.prefix");
  });
});
