import { readFileSync } from "node:fs";

/** Bytes this process has passed to write(2) so far (Linux /proc/self/io `wchar`). */
export function bytesWritten(): number {
  const line = readFileSync("/proc/self/io", "utf8")
    .split("\n")
    .find((l) => l.startsWith("wchar:"));
  return Number(line?.split(/\s+/)[1] ?? Number.NaN);
}

export interface Sample {
  readonly msPerStep: number;
  readonly bytes: number;
}

/** Runs `work` and returns its time per step and the bytes it wrote. Nothing may print meanwhile. */
export async function measure(steps: number, work: () => Promise<void> | void): Promise<Sample> {
  const bytesBefore = bytesWritten();
  const start = performance.now();
  await work();
  const elapsed = performance.now() - start;
  return { msPerStep: elapsed / steps, bytes: bytesWritten() - bytesBefore };
}

export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

export function formatBytes(bytes: number): string {
  if (bytes >= 1 << 20) return `${(bytes / (1 << 20)).toFixed(2)} MiB`;
  if (bytes >= 1 << 10) return `${(bytes / (1 << 10)).toFixed(1)} KiB`;
  return `${bytes} B`;
}

export function table(rows: readonly (readonly string[])[]): string {
  const widths = rows[0]!.map((_, column) => Math.max(...rows.map((row) => row[column]!.length)));
  return rows
    .map((row) => row.map((cell, column) => cell.padEnd(widths[column]!)).join("  "))
    .join("\n");
}
