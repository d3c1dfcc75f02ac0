import { describe, expect, it } from "vitest";
import { newCheckpointId } from "@waypoint/checkpoint";

const UUID_V7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

describe("newCheckpointId", () => {
  it("makes UUIDv7 strings that increase, even many within one millisecond", () => {
    const ids = Array.from({ length: 20_000 }, () => newCheckpointId());
    for (const id of ids) expect(id).toMatch(UUID_V7);
    expect([...ids].sort()).toEqual(ids);
    expect(new Set(ids).size).toBe(ids.length);
  });

  it("sorts after a head written by a machine whose clock is ahead", () => {
    const future = `${(Date.now() + 3_600_000)
      .toString(16)
      .padStart(12, "0")
      .replace(/^(.{8})/, "$1-")}-7000-8000-000000000000`;
    const id = newCheckpointId(future);
    expect(id > future).toBe(true);
    expect(id).toMatch(UUID_V7);
    expect(newCheckpointId(id) > id).toBe(true);
  });

  it("carries the creation time in its first 48 bits", () => {
    const before = Date.now();
    const id = newCheckpointId();
    const ms = Number.parseInt(id.slice(0, 8) + id.slice(9, 13), 16);
    expect(ms).toBeGreaterThanOrEqual(before);
    expect(ms).toBeLessThanOrEqual(Date.now() + 1);
  });
});
