import { randomFillSync } from "node:crypto";

/**
 * Checkpoint ids are UUIDv7 strings: 48 bits of milliseconds, then a 12-bit
 * counter that keeps ids from one process increasing within a millisecond,
 * then 62 random bits. They sort by creation time as plain strings.
 *
 * Written here rather than taken from the `uuid` package because an id is
 * made on every superstep, and reading random bytes from a pool costs a
 * tenth of a fresh getRandomValues call per id.
 */
const HEX = Array.from({ length: 256 }, (_, byte) => byte.toString(16).padStart(2, "0"));
const pool = Buffer.alloc(8 * 512);
let poolOffset = pool.length;
let lastMs = -1;
let counter = 0;

function randomBytes8(): Buffer {
  if (poolOffset === pool.length) {
    randomFillSync(pool);
    poolOffset = 0;
  }
  poolOffset += 8;
  return pool.subarray(poolOffset - 8, poolOffset);
}

function uuidv7(atLeastMs: number): string {
  const now = Date.now();
  const random = randomBytes8();
  let ms = now;
  let sequence: number;
  if (atLeastMs > now) {
    // Ahead of this clock: stamp the id, but leave the process's own sequence alone.
    ms = atLeastMs;
    sequence = random[0]! & 0x3ff;
  } else if (ms <= lastMs) {
    ms = lastMs;
    counter += 1;
    if (counter > 0xfff) {
      ms = lastMs += 1;
      counter = 0;
    }
    sequence = counter;
  } else {
    lastMs = ms;
    counter = random[0]! & 0x3ff; // a random start leaves room to count up
    sequence = counter;
  }
  const versionAndCounter = (0x7000 | sequence).toString(16);
  const variant = HEX[0x80 | (random[1]! & 0x3f)]!;
  let tail = "";
  for (let i = 2; i < 8; i += 1) tail += HEX[random[i]!]!;
  return `${timePrefix(ms)}${versionAndCounter}-${variant}${HEX[random[0]!]!}-${tail}`;
}

/** "tttttttt-tttt-" for a millisecond: ids made in the same one share it (most of a run's). */
let prefixMs = -1;
let prefix = "";
function timePrefix(ms: number): string {
  if (ms !== prefixMs) {
    const time = ms.toString(16).padStart(12, "0");
    prefixMs = ms;
    prefix = `${time.slice(0, 8)}-${time.slice(8)}-`;
  }
  return prefix;
}

/**
 * A new checkpoint id. Pass the thread's current head: the new id then sorts
 * after it even when this machine's clock is behind the one that wrote it.
 */
export function newCheckpointId(after?: string | null): string {
  const id = uuidv7(0);
  if (after == null || id > after) return id;
  const afterMs = Number.parseInt(after.slice(0, 8) + after.slice(9, 13), 16);
  if (!Number.isSafeInteger(afterMs)) return `${after}-1`;
  return uuidv7(afterMs + 1);
}
