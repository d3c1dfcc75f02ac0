/**
 * For tools that read a store without the graph (the CLI, the inspector):
 * what a stored checkpoint says of the graph that wrote it, and each
 * channel's history since the nearest snapshot.
 */
export {
  storedIdentity,
  type GraphIdentity,
  type GraphVersion,
  type StoredShape,
} from "./graph/graph-identity.js";
export { isStateKey, keyHistories, type KeyHistory } from "./inspect/key-history.js";
/** The runtime's channel of append marks (see append-marks.ts): no state, not shown. */
export { APPEND_MARKS } from "./pregel/append-marks.js";
export { newestGraphName, newestShape, shapeAt, storedShape } from "./inspect/stored-graph.js";
