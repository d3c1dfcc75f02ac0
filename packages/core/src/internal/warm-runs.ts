import type { RunLoop } from "../pregel/run-loop.js";

/**
 * The last finished run of each recent thread, least recently used first
 * out. A run is taken out while it is in use, so two concurrent invocations
 * on one thread never share channels.
 */
export class WarmRuns {
  private readonly runs = new Map<string, RunLoop>();

  constructor(private readonly capacity: number) {}

  take(threadId: string): RunLoop | undefined {
    const run = this.runs.get(threadId);
    this.runs.delete(threadId);
    return run;
  }

  put(threadId: string, run: RunLoop): void {
    this.runs.delete(threadId);
    this.runs.set(threadId, run);
    if (this.runs.size > this.capacity) this.runs.delete(this.runs.keys().next().value!);
  }
}
