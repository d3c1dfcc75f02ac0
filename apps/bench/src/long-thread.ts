import { formatBytes, median, table } from "./measure.js";
import { type Suite, recordFigure, recordStepTimes } from "./results.js";
import { LONG_GROWTH, medianRun, ratio, stepSpread, verdict } from "./workloads.js";

/**
 * The growing thread at 2,000 supersteps (issue 22), printed the same way by
 * every storage suite: total bytes, the slowest step against the median
 * step, and loading the head from a new instance, each against the floor.
 */
export const LONG_TARGET = { bytes: 1.3, spread: 3, load: 1.5 };

/** One side's run: its time, the bytes it wrote, its steps, and its loads afterwards. */
export interface LongRun {
  readonly ms: number;
  readonly bytes: number;
  /** Time of each superstep (between superstep starts, or per put). */
  readonly intervals: readonly number[];
  /** Loads of the grown thread from new instances, ms each. */
  readonly loads: readonly number[];
}

export interface LongThreadReport {
  readonly suite: Suite;
  /** How the suite counts bytes: "WAL", "bytes in", "write(2) bytes". */
  readonly bytesName: string;
  /** What a load is here, for the title. */
  readonly loadName: string;
  /** What a step's time is here, for the title. */
  readonly stepName?: string;
  /** Sides by name, the floor first; `waypoint` is the side the targets are for. */
  readonly runs: ReadonlyMap<string, readonly LongRun[]>;
  readonly waypoint?: string;
  /** Record the figures for the charts (one setting per suite). */
  readonly record?: boolean;
  readonly note?: string;
}

export function longThreadTable(report: LongThreadReport): string {
  const { runs, bytesName } = report;
  const waypoint = report.waypoint ?? "waypoint";
  const floor = [...runs.keys()][0]!;
  const of = (side: string, figure: (run: LongRun) => number) =>
    median(runs.get(side)!.map(figure));
  const msPerStep = (side: string) => of(side, (run) => run.ms) / LONG_GROWTH.steps;
  const bytes = (side: string) => of(side, (run) => run.bytes);
  const step = (side: string) => of(side, (run) => stepSpread(run.intervals).median);
  const slowest = (side: string) => of(side, (run) => stepSpread(run.intervals).slowest);
  const p99 = (side: string) => of(side, (run) => stepSpread(run.intervals).p99);
  const spread = (side: string) => of(side, (run) => stepSpread(run.intervals).ratio);
  const load = (side: string) => median(runs.get(side)!.flatMap((run) => run.loads));
  const rounds = runs.get(floor)!.length;
  const loadsPerRound = runs.get(floor)![0]!.loads.length;
  const lines = [
    `The growing thread at ${LONG_GROWTH.steps.toLocaleString("en")} supersteps of 2 KB (issue 22; median of ${rounds} rounds,`,
    `  ${loadsPerRound} loads per side and round; a step: ${report.stepName ?? "the time between superstep starts"};`,
    `  load: ${report.loadName})`,
    ...(report.note === undefined ? [] : [`  ${report.note}`]),
    table([
      [
        "side",
        "ms/step",
        "median step ms",
        "p99 step ms",
        "slowest step ms",
        "slowest / median",
        bytesName,
        `${bytesName} vs floor`,
        "load ms",
        "load vs floor",
      ],
      ...[...runs.keys()].map((side) => [
        side,
        msPerStep(side).toFixed(3),
        step(side).toFixed(3),
        p99(side).toFixed(3),
        slowest(side).toFixed(2),
        ratio(spread(side), 1),
        formatBytes(bytes(side)),
        ratio(bytes(side), bytes(floor)),
        load(side).toFixed(2),
        ratio(load(side), load(floor)),
      ]),
    ]),
    `issue 22 (${waypoint} ${bytesName} <= ${LONG_TARGET.bytes}x floor): ${verdict(bytes(waypoint) / bytes(floor), LONG_TARGET.bytes)}`,
    `issue 22 (${waypoint} slowest step <= ${LONG_TARGET.spread}x its median step): ${verdict(spread(waypoint), LONG_TARGET.spread)}`,
    `issue 22 (${waypoint} load <= ${LONG_TARGET.load}x the floor's): ${verdict(load(waypoint) / load(floor), LONG_TARGET.load)}`,
  ];
  if (report.record === true) {
    const sides = [...runs.keys()];
    const at = (figure: (side: string) => number) =>
      sides.map((side) => [side, figure(side)] as const);
    recordFigure(report.suite, "growing 2,000: time", "ms/step", at(msPerStep));
    recordFigure(report.suite, `growing 2,000: ${bytesName}`, "bytes", at(bytes));
    recordFigure(report.suite, "growing 2,000: slowest step", "ms", at(slowest));
    recordFigure(report.suite, "growing 2,000: load", "ms", at(load));
    for (const side of sides) {
      const typical = medianRun(runs.get(side)!, (run) => run.ms);
      recordStepTimes(report.suite, side, typical.intervals);
    }
  }
  return lines.join("\n");
}
