import type { Checkpointer, Fence } from "@waypoint/checkpoint";

/**
 * The checkpointer as one claimed run sees it: every checkpoint and pending
 * write carries the run's fence, which the backend checks in the same atomic
 * write. Reads pass through. Closing it does not close the store.
 */
export function fenced(checkpointer: Checkpointer, fence: Fence): Checkpointer {
  return {
    ...(checkpointer.runs ? { runs: checkpointer.runs } : {}),
    ...(checkpointer.serializer ? { serializer: checkpointer.serializer } : {}),
    put: (request) => checkpointer.put({ ...request, fence }),
    putPendingWrites: (target, writes) => checkpointer.putPendingWrites(target, writes, { fence }),
    get: (threadId, options) => checkpointer.get(threadId, options),
    list: (threadId, options) => checkpointer.list(threadId, options),
    listThreads: (options) => checkpointer.listThreads(options),
    deleteThread: (threadId) => checkpointer.deleteThread(threadId),
    prune: (options) => checkpointer.prune(options),
    copyThread: (from, to) => checkpointer.copyThread(from, to),
    exportThread: (threadId) => checkpointer.exportThread(threadId),
    importThread: (data) => checkpointer.importThread(data),
    close: () => Promise.resolve(),
  };
}
