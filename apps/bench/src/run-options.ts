/**
 * `pnpm bench --quick`: fewer rounds everywhere, for a look at the figures
 * in a few minutes. Its medians are noisier; a quick run writes no charts.
 */
export const QUICK = process.argv.includes("--quick");

/** A suite's round count: `full`, or `quick` on a quick run. */
export function roundsFor(full: number, quick: number): number {
  return QUICK ? quick : full;
}
