export { createInspectorApp, type InspectorOptions } from "./inspector-app.js";
export {
  startInspector,
  type RunningInspector,
  type StartInspectorOptions,
} from "./start-inspector.js";
export {
  INSPECTOR_ERROR_CODES,
  type ApiErrorBody,
  type InspectorErrorCode,
} from "./internal/api-error.js";
export type {
  EffectRow,
  EffectsLedger,
  InterruptRow,
  SalvageRow,
} from "./internal/effects-ledger.js";
export type { GraphView } from "./internal/graph-view.js";
export type { DiffEntry, DiffView, StateView } from "./internal/state-view.js";
export type { ThreadDetail, ThreadRow } from "./internal/thread-list.js";
export type { Timeline, TimelineRow } from "./internal/timeline.js";
