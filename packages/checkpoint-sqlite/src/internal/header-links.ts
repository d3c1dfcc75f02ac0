import { ANCHOR_EVERY, type EncodedHeader } from "@waypoint/checkpoint/backend";

/**
 * The records a page of headers decodes from: the page itself, the rows read
 * after it, and, only where forks interleave so that a delta's parent is not
 * among them, that parent read by `fetch` (a primary-key lookup). Walks each
 * delta's parents back to a record that cannot be a delta (an anchor, or
 * older than format 3), each record once.
 */
export function headerLinks(
  page: readonly EncodedHeader[],
  rows: readonly EncodedHeader[],
  fetch: (id: string) => EncodedHeader | undefined,
): Map<string, EncodedHeader> {
  const links = new Map(rows.map((row) => [row.id, row]));
  const reached = new Set<string>();
  for (const record of page) {
    let cursor: EncodedHeader | undefined = record;
    while (
      cursor !== undefined &&
      !reached.has(cursor.id) &&
      cursor.formatVersion >= 3 &&
      cursor.chainLength % ANCHOR_EVERY !== 0 &&
      cursor.parentId !== null
    ) {
      reached.add(cursor.id);
      const parentId: string = cursor.parentId;
      cursor = links.get(parentId) ?? fetch(parentId);
      // A parent that is missing altogether is the decoder's to report.
      if (cursor !== undefined) links.set(parentId, cursor);
    }
  }
  return links;
}
