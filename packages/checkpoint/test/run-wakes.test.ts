import { RunWakes } from "@waypoint/checkpoint/backend";
import { describe, expect, it } from "vitest";

/** How long `wait` took, in ms. */
async function timed(wait: Promise<void>): Promise<number> {
  const started = performance.now();
  await wait;
  return performance.now() - started;
}

describe("RunWakes", () => {
  it("a wake while nobody waits makes the next wait return at once: a run created during a claim is not missed", async () => {
    const wakes = new RunWakes();
    const watch = wakes.watch();
    wakes.notify();
    expect(await timed(watch.wait(10_000))).toBeLessThan(100);
    // Spent: the wait after it sleeps again.
    expect(await timed(watch.wait(150))).toBeGreaterThanOrEqual(100);
  });

  it("wakes every watch waiting, and ends a wait at its timeout or its signal", async () => {
    const wakes = new RunWakes();
    const [a, b] = [wakes.watch(), wakes.watch()];
    const waits = Promise.all([timed(a.wait(10_000)), timed(b.wait(10_000))]);
    setTimeout(() => wakes.notify(), 20);
    for (const ms of await waits) expect(ms).toBeLessThan(1_000);
    const stop = new AbortController();
    setTimeout(() => stop.abort(), 20);
    expect(await timed(a.wait(10_000, stop.signal))).toBeLessThan(1_000);
    expect(await timed(b.wait(30))).toBeLessThan(1_000);
  });

  it("runs its source while a watch is open, and once closed, waits only sleep (a caller polling a closed store does not spin)", async () => {
    const events: string[] = [];
    let wake: (() => void) | undefined;
    const wakes = new RunWakes((notify) => {
      events.push("start");
      wake = notify;
      return () => {
        events.push("stop");
        return Promise.resolve();
      };
    });
    const first = wakes.watch();
    const second = wakes.watch();
    expect(events).toEqual(["start"]);
    first.close();
    expect(events).toEqual(["start"]);
    const waiting = timed(second.wait(10_000));
    wake!();
    expect(await waiting).toBeLessThan(1_000);

    const pending = timed(second.wait(10_000));
    await wakes.close();
    expect(events).toEqual(["start", "stop"]);
    expect(await pending).toBeLessThan(1_000);
    wakes.notify();
    expect(await timed(second.wait(100))).toBeGreaterThanOrEqual(90);
    expect(await timed(wakes.watch().wait(100))).toBeGreaterThanOrEqual(90);
  });
});
