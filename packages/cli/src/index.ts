export { EXIT, main, type Io } from "./main.js";
export { STORE_FORMS, openStore, parseStoreUrl } from "./store.js";
export type { OpenStoreOptions, OpenedStore, StoreKind } from "./store.js";
