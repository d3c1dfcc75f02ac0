import type { SerializerProtocol } from "@langchain/langgraph-checkpoint";

/**
 * How the saver keeps LangGraph's channel values in Waypoint's store.
 *
 * Each value goes through LangGraph's own serializer (`serde.dumpsTyped`), so
 * whatever it writes comes back through `serde.loadsTyped` unchanged. A list
 * is serialized item by item: when a put only adds items at its end (a
 * message list, the common case), the store gets the new items alone.
 */

/** One value as LangGraph's serializer wrote it: its type and its text or bytes. */
export type StoredItem =
  | { readonly t: string; readonly j: unknown }
  | { readonly t: string; readonly s: string }
  | { readonly t: string; readonly b: Uint8Array };

/** A channel's value in the store: one item, or a list of items. */
export type StoredChannel = { readonly v: StoredItem } | { readonly l: readonly StoredItem[] };

/** What a checkpoint does to one channel: set it, append to its list, or drop it. */
export type ChannelChange =
  StoredChannel | { readonly a: readonly StoredItem[] } | { readonly d: 1 };

/** A channel's value as this process holds it: the stored form and its text for comparing. */
export interface HeldChannel {
  readonly stored: StoredChannel;
  /** Text of each item (of the one value, for `v`), to tell an append from a rewrite. */
  readonly keys: readonly string[];
}

export type HeldState = ReadonlyMap<string, HeldChannel>;

const utf8 = new TextDecoder("utf-8", { fatal: true });
const FORBIDDEN =
  /"(?:__proto__|constructor|prototype)"\s*:|\.(?:__proto__|constructor|prototype)\b/;

async function serializeItem(
  serde: SerializerProtocol,
  value: unknown,
): Promise<{ item: StoredItem; key: string }> {
  // Typed as bytes, but some serializers hand back text.
  const [type, bytes] = (await serde.dumpsTyped(value)) as [string, Uint8Array | string];
  if (typeof bytes === "string") return { item: { t: type, s: bytes }, key: `${type}:${bytes}` };
  let text: string;
  try {
    text = utf8.decode(bytes);
  } catch {
    return { item: { t: type, b: bytes }, key: `${type}#${Buffer.from(bytes).toString("base64")}` };
  }
  const key = `${type}:${text}`;
  // JSON text is kept parsed, so the store holds it as JSON rather than as an
  // escaped string; keys the store refuses keep it as text.
  if (type === "json" && !FORBIDDEN.test(text)) {
    try {
      return { item: { t: type, j: JSON.parse(text) as unknown }, key };
    } catch {
      // Not JSON after all: kept as text below.
    }
  }
  return { item: { t: type, s: text }, key };
}

function itemKey(item: StoredItem): string {
  if ("j" in item) return `${item.t}:${JSON.stringify(item.j)}`;
  if ("s" in item) return `${item.t}:${item.s}`;
  return `${item.t}#${Buffer.from(item.b).toString("base64")}`;
}

function itemPayload(item: StoredItem): string | Uint8Array {
  if ("j" in item) return JSON.stringify(item.j);
  if ("s" in item) return item.s;
  return item.b;
}

export function holdChannel(stored: StoredChannel): HeldChannel {
  return { stored, keys: "l" in stored ? stored.l.map(itemKey) : [itemKey(stored.v)] };
}

/** Serializes a channel's new value; a list whose old items are unchanged becomes an append. */
export async function encodeChannel(
  serde: SerializerProtocol,
  value: unknown,
  previous: HeldChannel | undefined,
): Promise<{ held: HeldChannel; change: ChannelChange }> {
  if (Array.isArray(value) && value.every((item) => item !== undefined)) {
    const serialized = await Promise.all(value.map((item) => serializeItem(serde, item)));
    const held: HeldChannel = {
      stored: { l: serialized.map(({ item }) => item) },
      keys: serialized.map(({ key }) => key),
    };
    if (previous !== undefined && "l" in previous.stored && isPrefix(previous.keys, held.keys)) {
      return {
        held,
        change: { a: serialized.slice(previous.keys.length).map(({ item }) => item) },
      };
    }
    return { held, change: held.stored };
  }
  const { item, key } = await serializeItem(serde, value);
  const held: HeldChannel = { stored: { v: item }, keys: [key] };
  return { held, change: held.stored };
}

function isPrefix(prefix: readonly string[], list: readonly string[]): boolean {
  if (prefix.length > list.length) return false;
  for (let index = 0; index < prefix.length; index += 1) {
    if (prefix[index] !== list[index]) return false;
  }
  return true;
}

/** A state with one more checkpoint's changes applied. */
export function applyChange(
  state: Map<string, HeldChannel>,
  channel: string,
  change: ChannelChange,
): void {
  if ("d" in change) {
    state.delete(channel);
  } else if ("a" in change) {
    const before = state.get(channel);
    const items = before !== undefined && "l" in before.stored ? before.stored.l : [];
    const keys = before !== undefined && "l" in before.stored ? before.keys : [];
    state.set(channel, {
      stored: { l: [...items, ...change.a] },
      keys: [...keys, ...change.a.map(itemKey)],
    });
  } else {
    state.set(channel, holdChannel(change));
  }
}

/** The channel's value, as LangGraph's serializer gives it back. */
export async function decodeChannel(
  serde: SerializerProtocol,
  stored: StoredChannel,
): Promise<unknown> {
  if ("v" in stored) return loadItem(serde, stored.v);
  return Promise.all(stored.l.map((item) => loadItem(serde, item)));
}

export function loadItem(serde: SerializerProtocol, item: StoredItem): Promise<unknown> {
  return serde.loadsTyped(item.t, itemPayload(item)) as Promise<unknown>;
}

export function serializeValue(serde: SerializerProtocol, value: unknown): Promise<StoredItem> {
  return serializeItem(serde, value).then(({ item }) => item);
}

/** A stored channel as read back: checked, since it comes from outside this process. */
export function asStoredChannel(value: unknown): StoredChannel {
  if (isRecord(value) && "v" in value && isItem(value.v)) return value as StoredChannel;
  if (isRecord(value) && "l" in value && Array.isArray(value.l) && value.l.every(isItem)) {
    return value as StoredChannel;
  }
  throw new Error("A channel value in this thread was not written by WaypointSaver");
}

export function asChannelChange(value: unknown): ChannelChange {
  if (isRecord(value) && "d" in value) return { d: 1 };
  if (isRecord(value) && "a" in value && Array.isArray(value.a) && value.a.every(isItem)) {
    return value as ChannelChange;
  }
  return asStoredChannel(value);
}

export function isItem(value: unknown): value is StoredItem {
  return (
    isRecord(value) &&
    typeof value.t === "string" &&
    ("j" in value || typeof value.s === "string" || value.b instanceof Uint8Array)
  );
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === "object";
}
