import type { ChannelWrite, Delta } from "@waypoint/checkpoint";
import type { Channel, ChannelSpec } from "../channels/channel.js";

/**
 * Append marks: how a load rebuilds a long list without calling its reducer
 * once per stored write.
 *
 * A growing thread's reducer keys (`(list, item) => [...list, item]`) are
 * stored as their writes, not rewritten in snapshots (see SnapshotPolicy), so
 * a load replays them: one reducer call per write, each copying the list, so
 * the replay of a 2,000-step thread costs the square of its length. Every
 * `MARK_EVERY` stored checkpoints the writer checks, by identity, that a
 * list key's value is exactly its value that many checkpoints ago followed by
 * the writes since (one item per write, or each write's items). When it is,
 * the checkpoint's writes carry a mark saying so, and a load that replays
 * that whole span concatenates the writes instead of calling the reducer.
 *
 * The mark is a check the writer made, not a promise about the reducer: a
 * reducer that trims, sorts or replaces gets no mark, and a load falls back
 * to the reducer wherever a mark does not fit what it replays (a span that
 * starts before its snapshot, or counts that differ). The mark is a write to
 * a channel of the runtime's own, so the stored format does not change.
 *
 * @experimental
 */
export const APPEND_MARKS = "__append_marks__";

/** How many stored checkpoints one mark covers (at most). */
export const MARK_EVERY = 32;

/** One key's mark: its value = its value `deltas` checkpoints back + the writes since. */
export interface AppendMark {
  /** Stored checkpoints the mark covers, this one included. */
  readonly deltas: number;
  /** Writes to the key in them. */
  readonly writes: number;
  /** The value's length at this checkpoint. */
  readonly length: number;
  /** Each write is a list whose items were appended (else each write is one item). */
  readonly spread: boolean;
}

type Marks = Readonly<Record<string, AppendMark>>;

/** Each graph's persisted reducer keys, found once. */
const reducerKeys = new WeakMap<ReadonlyMap<string, ChannelSpec>, readonly string[]>();

/** A marker for a writer of a graph with these channels; none when it has no reducer key. */
export function appendMarker(channels: ReadonlyMap<string, ChannelSpec>): AppendMarker | undefined {
  let keys = reducerKeys.get(channels);
  if (keys === undefined) {
    keys = [...channels]
      .filter(([, spec]) => spec.kind === "reducer" && spec.persisted)
      .map(([name]) => name);
    reducerKeys.set(channels, keys);
  }
  return keys.length === 0 ? undefined : new AppendMarker(keys);
}

interface Run {
  /** The value when the run started; never changed by a reducer that returns new values. */
  readonly base: readonly unknown[];
  readonly baseLength: number;
  readonly writes: unknown[];
  deltas: number;
}

/** The writer's side: follows each stored checkpoint of one thread, in order. */
export class AppendMarker {
  readonly #keys: readonly string[];
  readonly #runs = new Map<string, Run | undefined>();

  /** `keys`: the graph's persisted reducer keys. */
  constructor(keys: readonly string[]) {
    this.#keys = keys;
  }

  /**
   * The writes to store for the next checkpoint, with a mark added when one
   * is due. `valueOf` reads a key's value after these writes. `snapshot`:
   * the checkpoint is stored whole, so runs start afresh from it.
   */
  writesFor(
    writes: ChannelWrite[],
    valueOf: (key: string) => unknown,
    snapshot: boolean,
  ): ChannelWrite[] {
    let marks: Record<string, AppendMark> | undefined;
    for (const key of this.#keys) {
      const run = this.#runs.get(key);
      if (run === undefined || snapshot) {
        this.#runs.set(key, startRun(valueOf(key)));
        continue;
      }
      run.deltas += 1;
      for (const write of writes) if (write.channel === key) run.writes.push(write.value);
      if (run.deltas < MARK_EVERY) continue;
      const value = valueOf(key);
      if (run.writes.length === 0) {
        // Nothing written: the value is the base still, and a mark would say nothing.
        run.deltas = 0;
        continue;
      }
      const mark = markOf(run, value);
      if (mark !== undefined) (marks ??= {})[key] = mark;
      this.#runs.set(key, startRun(value));
    }
    return marks === undefined
      ? writes
      : [...writes, { taskId: APPEND_MARKS, channel: APPEND_MARKS, value: marks }];
  }
}

function startRun(value: unknown): Run | undefined {
  return Array.isArray(value)
    ? { base: value, baseLength: value.length, writes: [], deltas: 0 }
    : undefined;
}

/** The mark for `run`, if `value` is its base followed by its writes (by identity). */
function markOf(run: Run, value: unknown): AppendMark | undefined {
  // A reducer that changed the base in place is not followed: its earlier values are gone.
  if (!Array.isArray(value) || value === run.base || run.base.length !== run.baseLength) {
    return undefined;
  }
  const { base, baseLength, writes } = run;
  for (let i = 0; i < baseLength; i += 1) if (value[i] !== base[i]) return undefined;
  const tail = (items: readonly unknown[]) =>
    value.length === baseLength + items.length &&
    items.every((item, j) => value[baseLength + j] === item);
  const mark = { deltas: run.deltas, writes: writes.length, length: value.length };
  if (tail(writes)) return { ...mark, spread: false };
  if (writes.every((write) => Array.isArray(write)) && tail(writes.flat()))
    return { ...mark, spread: true };
  return undefined;
}

/** A key's writes held back while a mark's span replays, and the mark that ends it. */
interface Span {
  readonly end: number;
  readonly mark: AppendMark;
  readonly writes: ChannelWrite[];
}

/**
 * The stored deltas without their marks, and a replay plan: for each delta
 * index, the spans (by key) that a mark lets the load concatenate. Deltas
 * with no marks anywhere come back as they are, with no plan.
 */
export function planReplay(deltas: readonly Delta[]): {
  readonly deltas: readonly Delta[];
  readonly spans: ReadonlyMap<number, ReadonlyMap<string, AppendMark>> | undefined;
} {
  let starts: Map<number, Map<string, AppendMark>> | undefined;
  let stripped: Delta[] | undefined;
  deltas.forEach((delta, index) => {
    const at = delta.writes.findIndex((write) => write.channel === APPEND_MARKS);
    if (at < 0) {
      stripped?.push(delta);
      return;
    }
    stripped ??= deltas.slice(0, index);
    stripped.push({ ...delta, writes: delta.writes.filter((w) => w.channel !== APPEND_MARKS) });
    for (const [key, mark] of Object.entries(delta.writes[at]!.value as Marks)) {
      const start = index - mark.deltas + 1;
      // A span that starts before the base snapshot cannot be replayed from it.
      if (start < 0 || !Number.isInteger(mark.deltas)) continue;
      starts ??= new Map();
      const byKey = starts.get(start) ?? new Map<string, AppendMark>();
      byKey.set(key, mark);
      starts.set(start, byKey);
    }
  });
  return { deltas: stripped ?? deltas, spans: starts };
}

/**
 * Replays `deltas` (marks stripped) with `spans` from planReplay: `apply`
 * takes one delta's writes; a spanned key's writes wait and are then
 * concatenated onto its value, or folded through its reducer where the
 * counts differ. `channelOf` gives only reducer keys' channels: a mark on a
 * key that is no longer a reducer is ignored.
 */
export function replaySpans(
  deltas: readonly Delta[],
  spans: ReadonlyMap<number, ReadonlyMap<string, AppendMark>>,
  channelOf: (key: string) => Channel | undefined,
  apply: (writes: readonly ChannelWrite[]) => void,
): void {
  const open = new Map<string, Span>();
  deltas.forEach((delta, index) => {
    for (const [key, mark] of spans.get(index) ?? []) {
      // Spans of one key follow each other; one still open here is left to the reducer.
      const earlier = open.get(key);
      if (earlier !== undefined) fold(channelOf(key)!, earlier);
      if (channelOf(key) !== undefined)
        open.set(key, { end: index + mark.deltas - 1, mark, writes: [] });
    }
    if (open.size === 0) {
      apply(delta.writes);
    } else {
      const own: ChannelWrite[] = [];
      for (const write of delta.writes) {
        const span = open.get(write.channel);
        if (span === undefined) own.push(write);
        else span.writes.push(write);
      }
      apply(own);
    }
    for (const [key, span] of open) {
      if (span.end !== index) continue;
      open.delete(key);
      const channel = channelOf(key)!;
      if (!concatenate(channel, span)) fold(channel, span);
    }
  });
  // Spans the deltas end inside: their writes as usual.
  for (const [key, span] of open) fold(channelOf(key)!, span);
}

/**
 * A span's writes through the reducer, as their deltas would have applied
 * them: a reducer folds each write in order, whatever the superstep.
 */
function fold(channel: Channel, span: Span): void {
  channel.update(span.writes.map((write) => write.value));
}

/** Sets the key to its value followed by the span's writes, if the mark's counts fit. */
function concatenate(channel: Channel, span: Span): boolean {
  const { mark, writes } = span;
  if (writes.length !== mark.writes || !channel.isAvailable()) return false;
  const value = channel.get();
  if (!Array.isArray(value)) return false;
  const items = writes.map((write) => write.value);
  if (mark.spread && !items.every((item) => Array.isArray(item))) return false;
  const next = value.concat(mark.spread ? items.flat() : items);
  if (next.length !== mark.length) return false;
  channel.restore(next);
  return true;
}
