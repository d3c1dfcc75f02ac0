import {
  ERROR_CHANNEL,
  INTERRUPT_CHANNEL,
  THREAD_STATUSES,
  type CheckpointMetadata,
  type PendingWrite,
  type ThreadStatus,
  type ThreadSummary,
} from "@waypoint/checkpoint";
import { newestGraphName, storedIdentity, type GraphVersion } from "@waypoint/core/inspect";
import { invalid } from "./api-error.js";
import type { StoreReader } from "./store-reader.js";

/**
 * A thread as the thread list shows it.
 *
 * @experimental
 */
export interface ThreadRow {
  readonly threadId: string;
  readonly headId: string;
  readonly step: number;
  readonly updatedAt: string;
  readonly status: ThreadStatus;
  readonly graph: string | null;
  readonly graphVersion: string | number | null;
}

/**
 * One thread's head, as the thread page's summary shows it.
 *
 * @experimental
 */
export interface ThreadDetail extends ThreadRow {
  /** The inspector was given the graph: actions run in its process. */
  readonly hasGraph: boolean;
}

const MAX_SCANNED = 5000;

/**
 * A page of threads. The search `q` filters by thread id, so it may read
 * several pages of the store (up to MAX_SCANNED threads).
 */
export async function listThreadRows(
  reader: StoreReader,
  query: { q?: string; status?: string; limit?: string; after?: string },
): Promise<{ threads: ThreadRow[]; nextCursor: string | null }> {
  const { status } = query;
  if (status !== undefined && !THREAD_STATUSES.includes(status as ThreadStatus)) {
    throw invalid(`status must be one of ${THREAD_STATUSES.join(", ")}`);
  }
  const q = query.q?.trim().toLowerCase() ?? "";
  const limit = Number(query.limit ?? 100);
  if (!Number.isInteger(limit) || limit < 1 || limit > 1000) {
    throw invalid("limit must be an integer from 1 to 1000");
  }
  const found: ThreadSummary[] = [];
  let after = query.after;
  let scanned = 0;
  let nextCursor: string | null;
  do {
    const page = await reader.checkpointer.listThreads({
      limit: q === "" ? limit : 1000,
      ...(after ? { after } : {}),
      ...(status ? { status: status as ThreadStatus } : {}),
    });
    scanned += page.threads.length;
    for (const thread of page.threads) {
      if (found.length === limit) break;
      if (thread.threadId.toLowerCase().includes(q)) found.push(thread);
    }
    // Thread ids are the cursor (pages go by thread id).
    nextCursor =
      q !== "" && found.length === limit ? found[found.length - 1]!.threadId : page.nextCursor;
    after = page.nextCursor ?? undefined;
  } while (found.length < limit && after !== undefined && q !== "" && scanned < MAX_SCANNED);
  const threads = await Promise.all(found.map((thread) => threadRow(reader, thread)));
  return { threads, nextCursor };
}

async function threadRow(reader: StoreReader, thread: ThreadSummary): Promise<ThreadRow> {
  const headers = [];
  for await (const header of reader.checkpointer.list(thread.threadId, { limit: 1 })) {
    headers.push(header);
  }
  return {
    threadId: thread.threadId,
    headId: thread.headId,
    step: thread.step,
    updatedAt: thread.updatedAt.toISOString(),
    status: thread.status,
    graph: newestGraphName(headers) ?? null,
    graphVersion: versionOf(headers[0]?.metadata),
  };
}

export async function threadDetail(reader: StoreReader, threadId: string): Promise<ThreadDetail> {
  const headers = await reader.headers(threadId);
  const head = headers[headers.length - 1]!;
  const loaded = await reader.load(threadId, head.id);
  const { name, graph } = reader.graphFor(headers);
  return {
    threadId,
    headId: head.id,
    step: head.step,
    updatedAt: head.createdAt.toISOString(),
    status: deriveStatus(head.next.length, loaded.pendingWrites),
    graph: name,
    graphVersion: versionOf(head.metadata),
    hasGraph: graph !== undefined,
  };
}

function versionOf(metadata: CheckpointMetadata | undefined): GraphVersion | null {
  return metadata === undefined ? null : (storedIdentity(metadata)?.version ?? null);
}

/** The status rule of listThreads (packages/checkpoint/src/threads.ts), for one thread. */
function deriveStatus(planned: number, pending: readonly PendingWrite[]): ThreadStatus {
  if (planned === 0) return "finished";
  if (pending.some((write) => write.channel === ERROR_CHANNEL)) return "failed";
  return pending.some((write) => write.channel === INTERRUPT_CHANNEL) ? "interrupted" : "pending";
}
