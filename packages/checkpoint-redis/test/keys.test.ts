import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { Keys } from "../src/internal/keys.js";
import { isId } from "./support/ids.js";

const keys = new Keys("wp");

/** Ids made mostly of the characters that spell keys, and arbitrary ones. */
const id = fc
  .oneof(
    fc.string({
      unit: fc.constantFrom("a", "b", "0", "8", ":", "{", "}", "(", ")", "%", "p", "w", "h"),
      minLength: 1,
      maxLength: 12,
    }),
    fc.string({ unit: "grapheme", minLength: 1, maxLength: 12 }),
  )
  .filter(isId);
const namespace = fc.oneof(fc.constant(""), id);

/** Every key of a (thread, namespace, checkpoint, run), each with what it belongs to. */
function keysOf(threadId: string, ns: string, checkpointId: string, runId: string) {
  const of = keys.of(threadId, ns);
  const thread = JSON.stringify([threadId]);
  const inNamespace = JSON.stringify([threadId, ns]);
  return new Map([
    [keys.namespaces(threadId), `nss ${thread}`],
    [`${keys.tag(threadId)}:pwk`, `pwk ${thread}`],
    [keys.threadRuns(threadId), `runs ${thread}`],
    [keys.activeRuns(threadId), `active ${thread}`],
    [keys.run(threadId, runId), `run ${JSON.stringify([threadId, runId])}`],
    [of.head, `head ${inNamespace}`],
    [of.cps, `cps ${inNamespace}`],
    [of.idx, `idx ${inNamespace}`],
    [of.pw + checkpointId, `pw ${JSON.stringify([threadId, ns, checkpointId])}`],
    [keys.threads(), "threads"],
    [keys.expiring(), "expiring"],
    [keys.runIndex(), "runIndex"],
    [keys.queue(), "queue"],
  ]);
}

/** The slot-deciding part of a key, as Redis Cluster reads it. */
function hashTag(key: string): string {
  const open = key.indexOf("{");
  const close = key.indexOf("}", open + 1);
  return open === -1 || close <= open + 1 ? key : key.slice(open + 1, close);
}

describe("Redis key layout", () => {
  it("keeps the keys of an id without braces as they always were", () => {
    expect(keys.of("user:42", "")).toEqual({
      head: "{wp:user:42}:0::head",
      cps: "{wp:user:42}:0::cps",
      idx: "{wp:user:42}:0::idx",
      pw: "{wp:user:42}:0::pw:",
    });
    expect(keys.of("a", "sub:graph").head).toBe("{wp:a}:9:sub:graph:head");
    expect(keys.run("t-1", "r1")).toBe("{wp:t-1}:run:r1");
    expect(keys.namespaces("t-1")).toBe("{wp:t-1}:nss");
    expect(keys.threads()).toBe("{wp}:threads");
  });

  it("gives issue 17's pair two different keys", () => {
    expect(keys.of("a", "abcd}:0:").head).not.toBe(keys.of("a}:8:abcd", "").head);
  });

  it("never gives two (thread, namespace, checkpoint, run) one key, and tags each key with its own thread", () => {
    fc.assert(
      fc.property(
        fc.tuple(id, namespace, id, id),
        fc.tuple(id, namespace, id, id),
        ([t1, ns1, c1, r1], [t2, ns2, c2, r2]) => {
          const one = keysOf(t1, ns1, c1, r1);
          const two = keysOf(t2, ns2, c2, r2);
          // One key names one thing: what it belongs to is the same on both sides.
          for (const [key, owner] of one) {
            const other = two.get(key);
            if (other !== undefined && other !== owner) return false;
          }
          // Each key of a thread hashes by its thread's tag, which holds one `}`: its end.
          for (const [threadId, map] of [
            [t1, one],
            [t2, two],
          ] as const) {
            const tag = keys.tag(threadId);
            if (tag.indexOf("}") !== tag.length - 1) return false;
            for (const [key, owner] of map)
              if (owner.includes("[") && hashTag(key) !== tag.slice(1, -1)) return false;
          }
          return t1 === t2 || keys.tag(t1) !== keys.tag(t2);
        },
      ),
      { numRuns: 3000 },
    );
  });
});
