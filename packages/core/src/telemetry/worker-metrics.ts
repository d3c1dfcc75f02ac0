import type { RunRecord } from "@waypoint/checkpoint";
import { activeInstruments } from "./instruments.js";

/**
 * A worker's counts: claims (and, of them, takeovers: a claim that is not the
 * run's first, its earlier worker having died or lost its lease), failed
 * runs, lease renewals. A run's own spans come from its invoke.
 */
export function countClaim(run: RunRecord): void {
  const instruments = activeInstruments();
  if (instruments === undefined) return;
  const attributes = { "waypoint.graph.name": run.graph };
  instruments.runsClaimed.add(1, attributes);
  if (run.attempts > 1) instruments.runsTakenOver.add(1, attributes);
}

export function countFailedRun(run: RunRecord): void {
  activeInstruments()?.runsFailed.add(1, { "waypoint.graph.name": run.graph });
}

export function countLeaseRenewal(run: RunRecord): void {
  activeInstruments()?.leaseRenewals.add(1, { "waypoint.graph.name": run.graph });
}
