import type { LoadedCheckpoint } from "@waypoint/checkpoint";
import { isStateKey, keyHistories, newestShape } from "@waypoint/core/inspect";
import diff from "microdiff";
import { toJson } from "./json-value.js";
import type { StoreReader } from "./store-reader.js";

/**
 * A thread's state at one checkpoint, as the page shows it.
 *
 * @experimental
 */
export interface StateView {
  readonly checkpointId: string;
  readonly parentId: string | null;
  readonly step: number;
  readonly values: Record<string, unknown>;
  readonly next: readonly string[];
  /**
   * "graph": rebuilt by the graph itself (getState), exact. "replay": the
   * stored snapshot plus the writes since, folded by channel kind without the
   * graph's reducers, so a reducer's value is a guess (objects merged, lists appended).
   */
  readonly exactness: "graph" | "replay";
  readonly approximateKeys: readonly string[];
}

/**
 * One change between two states, as `microdiff` reports it: where (`path`, the
 * state key first) and the values before and after.
 *
 * @experimental
 */
export interface DiffEntry {
  readonly type: "CREATE" | "REMOVE" | "CHANGE";
  readonly path: readonly (string | number)[];
  readonly value?: unknown;
  readonly oldValue?: unknown;
}

/**
 * What `GET /api/threads/:id/diff` returns: the states at two checkpoints (by
 * default a checkpoint and its parent), the keys that changed, and each change.
 *
 * @experimental
 */
export interface DiffView {
  readonly from: StateView;
  readonly to: StateView;
  readonly changedKeys: readonly string[];
  readonly changes: readonly DiffEntry[];
}

export async function stateAt(
  reader: StoreReader,
  threadId: string,
  checkpointId: string | undefined,
  namespace = "",
): Promise<StateView> {
  const headers = await reader.headers(threadId, namespace);
  const id = checkpointId ?? headers[headers.length - 1]!.id;
  const { graph } = reader.graphFor(headers);
  if (graph !== undefined && namespace === "") {
    const snapshot = await graph.getState(threadId, { checkpointId: id });
    if (snapshot !== undefined) {
      return {
        checkpointId: snapshot.checkpointId,
        parentId: snapshot.parentCheckpointId,
        step: snapshot.step,
        values: toJson(snapshot.values) as Record<string, unknown>,
        next: snapshot.next,
        exactness: "graph",
        approximateKeys: [],
      };
    }
  }
  const settled = headers.some((header) => header.parentId === id);
  const loaded = await reader.load(threadId, id, namespace, settled);
  return replay(loaded, newestShape(headers)?.channels ?? null);
}

/** The state without the graph: the base snapshot, then each delta folded by its channel's kind. */
function replay(
  loaded: LoadedCheckpoint,
  kinds: Readonly<Record<string, string>> | null,
): StateView {
  const shown: Record<string, unknown> = {};
  const approximate = new Set<string>();
  for (const [channel, history] of keyHistories(loaded)) {
    if (kinds === null ? !isStateKey(channel) : !(channel in kinds)) continue;
    const kind = kinds?.[channel];
    let current = history.base;
    let present = history.inBase;
    for (const value of history.deltas.flatMap((delta) => delta.values)) {
      present = true;
      if (kind === "topic") {
        const list = Array.isArray(current) ? current : [];
        current = [
          ...(list as unknown[]),
          ...(Array.isArray(value) ? (value as unknown[]) : [value]),
        ];
      } else if (kind === "reducer") {
        approximate.add(channel);
        current = fold(current, value);
      } else {
        current = value;
      }
    }
    if (present) shown[channel] = toJson(current);
  }
  const checkpoint = loaded.checkpoint;
  return {
    checkpointId: checkpoint.id,
    parentId: checkpoint.parentId,
    step: checkpoint.step,
    values: shown,
    next: checkpoint.next.map((task) => task.node),
    exactness: "replay",
    approximateKeys: [...approximate].sort(),
  };
}

/** A guess at a reducer: lists append, plain objects merge, anything else is replaced. */
function fold(current: unknown, update: unknown): unknown {
  if (Array.isArray(current))
    return [
      ...(current as unknown[]),
      ...(Array.isArray(update) ? (update as unknown[]) : [update]),
    ];
  const plain = (value: unknown): value is Record<string, unknown> =>
    value !== null && typeof value === "object" && !Array.isArray(value);
  if (plain(current) && plain(update)) return { ...current, ...update };
  if (current === undefined && plain(update)) return { ...update };
  return update;
}

export async function diffOf(
  reader: StoreReader,
  threadId: string,
  fromId: string | undefined,
  toId: string | undefined,
  namespace = "",
): Promise<DiffView> {
  const to = await stateAt(reader, threadId, toId, namespace);
  const from =
    fromId === undefined && to.parentId === null
      ? { ...to, values: {} }
      : await stateAt(reader, threadId, fromId ?? to.parentId ?? undefined, namespace);
  const changes = diff(from.values, to.values) as DiffEntry[];
  const changedKeys = [...new Set(changes.map((change) => String(change.path[0])))].sort();
  return { from, to, changedKeys, changes };
}
