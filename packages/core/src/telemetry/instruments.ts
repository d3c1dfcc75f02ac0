import type { Counter, Histogram, Meter } from "@opentelemetry/api";
import { activeMeter } from "./providers.js";

/** Waypoint's metrics, made once per meter (see docs/observability.md). */
export interface Instruments {
  readonly supersteps: Counter;
  readonly checkpointBytes: Histogram;
  readonly checkpointDuration: Histogram;
  readonly effects: Counter;
  readonly runsClaimed: Counter;
  readonly runsTakenOver: Counter;
  readonly runsFailed: Counter;
  readonly leaseRenewals: Counter;
}

let madeFor: Meter | undefined;
let made: Instruments | undefined;

/** The instruments of the meter provider registered now, or undefined when none is. */
export function activeInstruments(): Instruments | undefined {
  const meter = activeMeter();
  if (meter === undefined) return undefined;
  if (meter !== madeFor) {
    madeFor = meter;
    made = instrumentsOf(meter);
  }
  return made;
}

function instrumentsOf(meter: Meter): Instruments {
  return {
    supersteps: meter.createCounter("waypoint.supersteps", {
      description: "Supersteps run (each ends with a checkpoint, or with the run)",
      unit: "{superstep}",
    }),
    checkpointBytes: meter.createHistogram("waypoint.checkpoint.bytes", {
      description:
        "Serialized bytes a checkpoint put wrote or a load read (estimated from the chain)",
      unit: "By",
    }),
    checkpointDuration: meter.createHistogram("waypoint.checkpoint.duration", {
      description: "Time a checkpoint put, pending-writes put or load took",
      unit: "s",
    }),
    effects: meter.createCounter("waypoint.effects", {
      description: "Effect calls, executed or replayed from their recorded result",
      unit: "{call}",
    }),
    runsClaimed: meter.createCounter("waypoint.runs.claimed", {
      description: "Runs a worker claimed",
      unit: "{run}",
    }),
    runsTakenOver: meter.createCounter("waypoint.runs.taken_over", {
      description: "Runs a worker claimed after another worker's lease on them lapsed",
      unit: "{run}",
    }),
    runsFailed: meter.createCounter("waypoint.runs.failed", {
      description: "Runs a worker finished as failed",
      unit: "{run}",
    }),
    leaseRenewals: meter.createCounter("waypoint.lease.renewals", {
      description: "Heartbeats that renewed a claimed run's lease",
      unit: "{renewal}",
    }),
  };
}
