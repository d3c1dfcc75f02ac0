import {
  ThreadNotFoundError,
  type CheckpointHeader,
  type Checkpointer,
  type JsonValue,
} from "@waypoint/checkpoint";

export interface ListSourcesOptions {
  /** One thread; every thread when undefined. */
  readonly threadId?: string;
  /** One namespace; every namespace of each thread when undefined. */
  readonly namespace?: string;
  readonly before?: string;
  readonly filter?: Readonly<Record<string, JsonValue>>;
  readonly limit?: number;
}

/**
 * The headers LangGraph's `list` asks for, newest first. One thread and
 * namespace is one Waypoint listing; more are read whole, merged and sorted
 * by id (as LangGraph's savers order them), built from the contract's
 * `listThreads`, `exportThread` (for a thread's namespaces) and `list`.
 */
export async function* listSources(
  checkpointer: Checkpointer,
  options: ListSourcesOptions,
): AsyncGenerator<CheckpointHeader> {
  const { before, filter, limit } = options;
  if (options.threadId !== undefined && options.namespace !== undefined) {
    yield* checkpointer.list(options.threadId, {
      namespace: options.namespace,
      before,
      filter,
      limit,
    });
    return;
  }
  const threadIds =
    options.threadId === undefined ? await allThreadIds(checkpointer) : [options.threadId];
  const headers: CheckpointHeader[] = [];
  for (const threadId of threadIds) {
    const namespaces =
      options.namespace === undefined
        ? await namespacesOf(checkpointer, threadId)
        : [options.namespace];
    for (const namespace of namespaces) {
      for await (const header of checkpointer.list(threadId, {
        namespace,
        before,
        filter,
        limit,
      })) {
        headers.push(header);
      }
    }
  }
  headers.sort((a, b) => (a.id < b.id ? 1 : a.id > b.id ? -1 : 0));
  yield* limit === undefined ? headers : headers.slice(0, limit);
}

async function allThreadIds(checkpointer: Checkpointer): Promise<string[]> {
  const threadIds: string[] = [];
  let after: string | undefined;
  for (;;) {
    const page = await checkpointer.listThreads({ limit: 1000, after });
    threadIds.push(...page.threads.map((thread) => thread.threadId));
    if (page.nextCursor === null) return threadIds;
    after = page.nextCursor;
  }
}

/**
 * A thread's namespaces, the root first: from `listNamespaces`, which every
 * Waypoint backend has; a checkpointer without it is read through its export.
 */
async function namespacesOf(checkpointer: Checkpointer, threadId: string): Promise<string[]> {
  if (checkpointer.listNamespaces !== undefined) return checkpointer.listNamespaces(threadId);
  let exported;
  try {
    exported = await checkpointer.exportThread(threadId);
  } catch (error) {
    // Deleted since listThreads named it.
    if (error instanceof ThreadNotFoundError) return [];
    throw error;
  }
  const namespaces = new Set(exported.checkpoints.map((checkpoint) => checkpoint.namespace));
  return [...namespaces].sort();
}
