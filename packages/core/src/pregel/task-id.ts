import { hash } from "node:crypto";

/**
 * A task's id: derived from where it was planned, so that the same plan
 * always gives the same ids, and pending writes saved before a crash match
 * the tasks after it.
 */
export function taskId(parts: readonly (string | number)[]): string {
  const hex = hash("sha256", parts.join("\u0000"), "hex");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`;
}
