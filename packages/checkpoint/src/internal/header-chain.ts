import { FORMAT_VERSION } from "../checkpoint.js";
import { CorruptRecordError, UnsupportedFormatVersionError } from "../errors.js";
import type { HeaderLink } from "../record.js";
import { parseJson, type Serializer } from "../serializer.js";
import { decodeHeaderV2, type DecodedHeader } from "./header-codec.js";
import { applyHeaderDelta, isHeaderDelta } from "./header-delta.js";
import { decodeHeaderV1 } from "./header-v1.js";

/**
 * Decodes headers of one thread and namespace, a format-3 delta through its
 * parents' headers (`links`, by id) back to a full one. Each header is
 * decoded once: the headers of a list page share their parents'.
 */
export class HeaderChain {
  private readonly decoded = new Map<string, DecodedHeader>();

  constructor(
    private readonly links: ReadonlyMap<string, HeaderLink>,
    private readonly serializer: Serializer,
  ) {}

  decode(record: HeaderLink, where: string): DecodedHeader {
    const deltas: [HeaderLink, unknown][] = [];
    let cursor = record;
    let decoded = this.decoded.get(cursor.id);
    while (decoded === undefined) {
      const at = cursor === record ? where : `${where}, through the header of ${cursor.id}`;
      const version = cursor.formatVersion;
      if (typeof version !== "number" || !Number.isSafeInteger(version) || version < 1) {
        throw new CorruptRecordError(at, `invalid format version ${String(version)}`);
      }
      if (version > FORMAT_VERSION) {
        throw new UnsupportedFormatVersionError(at, version, FORMAT_VERSION);
      }
      if (typeof cursor.header !== "string") {
        throw new CorruptRecordError(
          where,
          `its header is a delta, and the header of ${cursor.id} it needs was not read`,
        );
      }
      const parsed = parseJson(cursor.header, at);
      if (version === 1) decoded = decodeHeaderV1(parsed, at, this.serializer);
      else if (version === 2 || !isHeaderDelta(parsed)) {
        decoded = decodeHeaderV2(parsed, at, this.serializer);
      } else {
        deltas.push([cursor, parsed]);
        const parent = cursor.parentId === null ? undefined : this.links.get(cursor.parentId);
        if (parent === undefined || deltas.length > this.links.size) {
          throw new CorruptRecordError(
            where,
            `its header is a delta, and the chain of headers it needs breaks at ${cursor.id} ` +
              `(parent ${String(cursor.parentId)} missing)`,
          );
        }
        cursor = parent;
        decoded = this.decoded.get(cursor.id);
        continue;
      }
      this.decoded.set(cursor.id, decoded);
    }
    for (let i = deltas.length - 1; i >= 0; i -= 1) {
      const [link, parsed] = deltas[i]!;
      const at = link === record ? where : `${where}, through the header of ${link.id}`;
      decoded = applyHeaderDelta(decoded, parsed, at, this.serializer);
      this.decoded.set(link.id, decoded);
    }
    return decoded;
  }
}
