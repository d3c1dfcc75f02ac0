import { CheckpointConflictError, CheckpointNotFoundError } from "../errors.js";
import type { EncodedHeader } from "../record.js";

/**
 * Why a backend's conditional put wrote nothing, told from the head it found
 * afterwards: another head than the expected one is a conflict; else the
 * parent was missing.
 */
export function putRefusal(
  record: Pick<EncodedHeader, "threadId" | "namespace" | "parentId">,
  expectedHeadId: string | null,
  actualHeadId: string | null,
): Error {
  if (actualHeadId !== expectedHeadId) {
    return new CheckpointConflictError({
      threadId: record.threadId,
      namespace: record.namespace,
      expectedHeadId,
      actualHeadId,
    });
  }
  return new CheckpointNotFoundError(
    record.threadId,
    record.namespace,
    record.parentId ?? "(none)",
  );
}
