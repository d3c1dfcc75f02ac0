import { trace } from "@opentelemetry/api";
import { BasicTracerProvider } from "@opentelemetry/sdk-trace-base";
import { MemoryCheckpointer } from "@waypoint/checkpoint";
import { telemetryRegistered } from "@waypoint/core/testing";
import { type Sample, measure, median, table } from "./measure.js";
import { NODES, STEPS, expectChainLog, runChain, waypointChain } from "./memory-chain.js";

/** Full chain runs per side before any measured one (as core.ts warms up). */
const WARM_UP_RUNS = 30;
/** Calls of the check timed in a row: long enough for a stable figure in ns. */
const CHECKS = 2_000_000;

/**
 * What tracing costs (issue 24), in this run, on core.ts's chain: with no
 * OpenTelemetry SDK, a run makes one check (`telemetryRegistered`, two global
 * reads) and each superstep, task and put one `undefined` test; with an SDK
 * (a tracer provider that records every span and exports none), the spans
 * themselves. The first is timed on its own against the run's time; the
 * second as the same chain's time with and without the SDK, rounds alternating.
 */
export async function otelCost(rounds: number): Promise<string> {
  const untraced: Sample[] = [];
  const traced: Sample[] = [];
  const provider = new BasicTracerProvider();
  const sides = [
    { samples: untraced, on: () => trace.disable() },
    { samples: traced, on: () => trace.setGlobalTracerProvider(provider) },
  ];
  for (const side of sides) {
    side.on();
    for (let i = 0; i < WARM_UP_RUNS; i += 1)
      await runChain(waypointChain(new MemoryCheckpointer()), `otel-warm-${i}`);
  }
  for (let round = 0; round < rounds; round += 1) {
    for (let i = 0; i < sides.length; i += 1) {
      const side = sides[(round + i) % sides.length]!;
      side.on();
      const invoke = waypointChain(new MemoryCheckpointer());
      let log: readonly string[] = [];
      side.samples.push(await measure(STEPS, async () => void (log = await runChain(invoke, "t"))));
      expectChainLog("Waypoint (OpenTelemetry)", log);
    }
  }
  trace.disable();
  await provider.shutdown();
  // The check with no SDK, as each invoke makes it.
  let registered = 0;
  const start = performance.now();
  for (let i = 0; i < CHECKS; i += 1) if (telemetryRegistered()) registered += 1;
  const checkMs = (performance.now() - start) / CHECKS;
  if (registered !== 0) throw new Error("an SDK is registered: the check is not the no-SDK one");
  const off = median(untraced.map((s) => s.msPerStep));
  const on = median(traced.map((s) => s.msPerStep));
  // One check per invoke, and an invoke is NODES supersteps.
  const checkPerStep = checkMs / NODES;
  return [
    `OpenTelemetry (issue 24): the chain above, Waypoint alone, with and without an SDK (median of ${rounds} rounds, ms per superstep)`,
    table([
      [
        "no SDK ms/step",
        "SDK, spans recorded ms/step",
        "with SDK / without",
        "no-SDK check ns/invoke",
        "check, share of a superstep",
      ],
      [
        off.toFixed(4),
        on.toFixed(4),
        `${(on / off).toFixed(2)}x`,
        (checkMs * 1e6).toFixed(1),
        `${((checkPerStep / off) * 100).toFixed(3)}%`,
      ],
    ]),
    `  With no SDK a run adds that check once per invoke, plus one undefined test per superstep, task and put: no span, attribute or closure.`,
  ].join("\n");
}
