/**
 * Named fault points: places in the runtime where a test can crash or fail
 * the process at an exact boundary. They do nothing unless armed, by
 * `armFault` in-process or by the WAYPOINT_FAULTS environment variable in a
 * child process ("after-effect-before-record=kill,before-commit=throw").
 */
export type FaultPointName =
  | "before-effect"
  | "after-effect-before-record"
  | "after-record"
  | "before-commit"
  | "after-commit";

export type FaultAction = "kill" | "throw" | (() => void | Promise<void>);

const armed = new Map<FaultPointName, { action: FaultAction; remaining: number }>();

for (const entry of (process.env.WAYPOINT_FAULTS ?? "").split(",").filter(Boolean)) {
  const [name, action] = entry.split("=");
  if (action === "kill" || action === "throw")
    armed.set(name as FaultPointName, { action, remaining: 1 });
}

/** Arms a fault point for the next `times` passes (default 1). */
export function armFault(name: FaultPointName, action: FaultAction, times = 1): void {
  armed.set(name, { action, remaining: times });
}

export function disarmFaults(): void {
  armed.clear();
}

/** Thrown by a fault point armed with "throw". */
export class InjectedFault extends Error {
  constructor(readonly point: FaultPointName) {
    super(`injected fault at ${point}`);
    this.name = "InjectedFault";
  }
}

/**
 * Whether any fault point is armed. Hot paths check it before awaiting a
 * fault point: an await costs a microtask turn even when nothing is armed.
 */
export function faultsArmed(): boolean {
  return armed.size > 0;
}

export async function faultPoint(name: FaultPointName): Promise<void> {
  if (armed.size === 0) return;
  const fault = armed.get(name);
  if (fault === undefined) return;
  fault.remaining -= 1;
  if (fault.remaining <= 0) armed.delete(name);
  if (fault.action === "kill") process.kill(process.pid, "SIGKILL");
  if (fault.action === "throw") throw new InjectedFault(name);
  if (typeof fault.action === "function") await fault.action();
}
