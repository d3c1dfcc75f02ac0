import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { Command, entrypoint, interrupt, task, type EntrypointContext } from "@waypoint/core";
import { DedupSink, STORES } from "./support/stores.js";

/**
 * Random programs for the Functional API: steps of sequential or parallel
 * task calls, each call maybe with an effect inside, some calls failing a few
 * times, and interrupts between steps. Whatever fails and however often the
 * run is resumed, the result is the uninterrupted run's, no call runs again
 * once it finished, and each effect reaches the sink once.
 */
interface Call {
  readonly id: string;
  readonly value: number;
  readonly withEffect: boolean;
  /** Times the call throws before it succeeds (each a failed run the caller resumes). */
  readonly failures: number;
  readonly delayMs: number;
}

type Step =
  | { readonly kind: "calls"; readonly parallel: boolean; readonly calls: readonly Call[] }
  | { readonly kind: "interrupt" };

const call = (step: number, position: number) =>
  fc.record({
    id: fc.constant(`c${step}.${position}`),
    value: fc.integer({ min: -50, max: 50 }),
    withEffect: fc.boolean(),
    failures: fc.oneof(
      { weight: 4, arbitrary: fc.constant(0) },
      { weight: 1, arbitrary: fc.integer({ min: 1, max: 2 }) },
    ),
    delayMs: fc.integer({ min: 0, max: 2 }),
  });

const program = fc
  .array(
    fc.oneof(
      {
        weight: 4,
        arbitrary: fc.record({ parallel: fc.boolean(), size: fc.integer({ min: 1, max: 4 }) }),
      },
      { weight: 1, arbitrary: fc.constant("interrupt" as const) },
    ),
    { minLength: 1, maxLength: 6 },
  )
  .chain((shapes) =>
    fc.tuple(
      ...shapes.map((shape, step): fc.Arbitrary<Step> =>
        shape === "interrupt"
          ? fc.constant({ kind: "interrupt" })
          : fc
              .tuple(...Array.from({ length: shape.size }, (_, i) => call(step, i)))
              .map((calls) => ({ kind: "calls", parallel: shape.parallel, calls })),
      ),
    ),
  );

/** What an uninterrupted run returns: every call's value, in program order, and each answer. */
function expected(steps: readonly Step[]): string {
  return steps
    .map((step, i) =>
      step.kind === "interrupt" ? `answer${i}` : step.calls.map((c) => c.value * 2).join(","),
    )
    .join("|");
}

async function runToEnd(steps: readonly Step[], store: (typeof STORES)[number]) {
  const checkpointer = store.create();
  const sink = new DedupSink();
  const left = new Map(
    steps.flatMap((s) => (s.kind === "calls" ? s.calls : [])).map((c) => [c.id, c.failures]),
  );
  const executions = new Map<string, number>();
  const finished = new Set<string>();
  const ranAfterFinishing: string[] = [];
  const work = task("work", async (c: Call, ctx: EntrypointContext) => {
    if (finished.has(c.id)) ranAfterFinishing.push(c.id);
    executions.set(c.id, (executions.get(c.id) ?? 0) + 1);
    if (c.delayMs > 0) await new Promise((resolve) => setTimeout(resolve, c.delayMs));
    if (c.withEffect)
      await ctx.effect("apply", ({ idempotencyKey }) => sink.apply(idempotencyKey, c.id));
    const failuresLeft = left.get(c.id) ?? 0;
    if (failuresLeft > 0) {
      left.set(c.id, failuresLeft - 1);
      throw new Error(`transient failure of ${c.id}`);
    }
    finished.add(c.id);
    return c.value * 2;
  });
  const workflow = entrypoint({ name: "program", checkpointer }, async (_: number, ctx) => {
    const parts: string[] = [];
    for (const [i, step] of steps.entries()) {
      if (step.kind === "interrupt") {
        parts.push(interrupt<string>(`step ${i}`));
        continue;
      }
      const results = step.parallel
        ? await Promise.all(step.calls.map((c) => work(c, ctx)))
        : await step.calls.reduce<Promise<number[]>>(
            async (done, c) => [...(await done), await work(c, ctx)],
            Promise.resolve([]),
          );
      parts.push(results.join(","));
    }
    return parts.join("|");
  });

  let input: number | Command | null = 0;
  let result: unknown;
  for (let attempt = 0; attempt < 100; attempt += 1) {
    try {
      result = await workflow.invoke(input, { threadId: "t" });
    } catch {
      input = null; // a failed run: resume it as it is
      continue;
    }
    const interrupts = (result as { __interrupt__?: { id: string; value: string }[] })
      .__interrupt__;
    if (interrupts === undefined) break;
    input = new Command({
      resume: Object.fromEntries(interrupts.map((i) => [i.id, `answer${i.value.slice(5)}`])),
    });
  }
  await checkpointer.close();
  return { result, executions, ranAfterFinishing, sink };
}

describe.each(STORES)("random Functional API programs on $name", (store) => {
  it("end as the uninterrupted run, with each call and effect done once", async () => {
    await fc.assert(
      fc.asyncProperty(program, async (steps) => {
        const { result, executions, ranAfterFinishing, sink } = await runToEnd(steps, store);
        expect(result).toBe(expected(steps));
        expect(ranAfterFinishing).toEqual([]);
        for (const step of steps) {
          if (step.kind !== "calls") continue;
          for (const c of step.calls) {
            // Runs again only after its own failures: never once it finished.
            expect(executions.get(c.id)).toBe(c.failures + 1);
            if (c.withEffect) expect(sink.count(c.id)).toBe(1);
          }
        }
        // Each effect was called once: a failed call's retry replays its recorded effect.
        expect(sink.calls.length).toBe(sink.applied.size);
        expect(sink.applied.size).toBe(
          steps.flatMap((s) => (s.kind === "calls" ? s.calls : [])).filter((c) => c.withEffect)
            .length,
        );
      }),
      { numRuns: store.name === "memory" ? 150 : 40, seed: 21, endOnFailure: true },
    );
  }, 120_000);
});
