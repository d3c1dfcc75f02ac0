/**
 * The figures a run measured, kept for the charts (charts.ts) and for
 * docs/images/bench-results.json: the suites print their tables and record
 * here what the charts show, from the same medians.
 */
export type Suite = "core" | "postgres" | "redis" | "sqlite";

export interface Figure {
  readonly suite: Suite;
  /** The workload and what of it, as a chart labels it: "(a) chain: time". */
  readonly figure: string;
  readonly side: string;
  readonly value: number;
  readonly unit: "ms" | "ms/step" | "bytes";
}

/** The time of each step of one run of a growing thread (the median run of its side). */
export interface StepTimes {
  readonly suite: Suite;
  readonly side: string;
  readonly ms: readonly number[];
}

export interface Results {
  readonly figures: Figure[];
  readonly stepTimes: StepTimes[];
}

export const results: Results = { figures: [], stepTimes: [] };

/** Records one figure for several sides. */
export function recordFigure(
  suite: Suite,
  figure: string,
  unit: Figure["unit"],
  values: Iterable<readonly [side: string, value: number]>,
): void {
  for (const [side, value] of values) results.figures.push({ suite, figure, side, value, unit });
}

export function recordStepTimes(suite: Suite, side: string, ms: readonly number[]): void {
  results.stepTimes.push({ suite, side, ms: ms.map((t) => Math.round(t * 1000) / 1000) });
}
