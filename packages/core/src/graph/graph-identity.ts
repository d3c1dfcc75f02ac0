import { createHash } from "node:crypto";
import { InvalidArgumentError, type JsonValue } from "@waypoint/checkpoint";
import type { ChannelSpec } from "../channels/channel.js";

/** A graph's version: a non-empty string or a positive integer. A graph compiled without one is version 1. */
export type GraphVersion = string | number;

/** The state a migration step receives and returns: the state keys' values, as nodes see them. */
export type MigrationState = Record<string, unknown>;

/** What a migration step knows besides the state. */
export interface MigrationInfo {
  readonly threadId: string;
  readonly from: GraphVersion;
  readonly to: GraphVersion;
  /** The nodes planned to run next, in plan order. */
  readonly next: readonly string[];
}

/**
 * One version step of a thread's state: `from` the version that wrote the
 * thread `to` the next one. `state` maps the old state to the new (keys it
 * leaves out are emptied); `plan` maps the planned nodes, one entry per
 * planned task: a node name (the same, or another to move the task there)
 * or null to drop the task.
 */
export interface MigrationStep {
  readonly from: GraphVersion;
  readonly to: GraphVersion;
  /** Maps the old state to the new one; a key it leaves out is emptied. */
  readonly state?: (
    state: MigrationState,
    info: MigrationInfo,
  ) => MigrationState | Promise<MigrationState>;
  /**
   * Maps the planned nodes, in plan order, to one entry per task: a node name
   * (the same, or another to move the task there) or null to drop the task.
   */
  readonly plan?: (next: readonly string[], info: MigrationInfo) => readonly (string | null)[];
}

/** `{ 2: fn, 3: fn }`: each key is the integer version its function migrates to, from the one before. */
export type MigrationMap = Readonly<Record<number, MigrationStep["state"] & object>>;

/** What compile() takes to let threads written by earlier versions go on. */
export interface DeployOptions {
  /** Names the graph in every checkpoint it writes (default "graph"). */
  readonly name?: string;
  /** This code's version of the graph (default 1). */
  readonly version?: GraphVersion;
  /** The steps from earlier versions to `version`, applied in order on load. */
  readonly migrations?: MigrationMap | readonly MigrationStep[];
  /** Old node name → new: planned tasks, their pending writes and interrupts move to the new name. */
  readonly renamedNodes?: Readonly<Record<string, string>>;
}

/** What every checkpoint records of the graph that wrote it (`metadata.graph`). */
export interface GraphIdentity {
  readonly name: string;
  readonly version: GraphVersion;
  /** A hash of the structure: nodes, edges, channels and their kinds (changed code does not change it). */
  readonly fingerprint: string;
}

/** The structure a thread's first checkpoint under a fingerprint records (`metadata.graphShape`). */
export interface StoredShape {
  /** State key → channel kind. */
  readonly channels: Readonly<Record<string, string>>;
  readonly nodes: readonly string[];
}

/** Everything about deploys a compiled graph carries: made once by compile(). */
export interface GraphDeploy {
  readonly identity: GraphIdentity;
  /** `metadata.graph` as stored (plain JSON, made once). */
  readonly stored: JsonValue;
  readonly shape: StoredShape;
  /** The versions from the oldest a migration starts at to `version`, in order. */
  readonly versions: readonly GraphVersion[];
  /** `steps[i]` migrates `versions[i]` to `versions[i + 1]`. */
  readonly steps: readonly MigrationStep[];
  readonly renamedNodes: ReadonlyMap<string, string>;
}

export interface StructureInput {
  readonly stateChannels: ReadonlyMap<string, ChannelSpec>;
  readonly nodes: readonly string[];
  readonly edges: readonly { readonly from: string; readonly to: string }[];
  readonly joins: readonly { readonly from: readonly string[]; readonly to: string }[];
  readonly branches: readonly { readonly from: string; readonly targets?: readonly string[] }[];
}

const DEFAULT_NAME = "graph";

/** Checks the deploy options of compile() and makes the identity its checkpoints record. */
export function resolveDeploy(options: DeployOptions, structure: StructureInput): GraphDeploy {
  const name = options.name ?? DEFAULT_NAME;
  // Only an absent version is the default: null is refused like any other non-version.
  const version = options.version === undefined ? 1 : options.version;
  checkVersion(version, "version");
  const shape: StoredShape = {
    channels: Object.fromEntries(
      [...structure.stateChannels].map(([key, spec]) => [key, spec.kind]),
    ),
    nodes: [...structure.nodes],
  };
  const fingerprint = fingerprintOf(shape, structure);
  const { versions, steps } = resolveMigrations(options.migrations, version);
  const renamedNodes = resolveRenames(options.renamedNodes, structure.nodes);
  const identity: GraphIdentity = { name, version, fingerprint };
  return {
    identity,
    stored: { name, version, fingerprint },
    shape,
    versions,
    steps,
    renamedNodes,
  };
}

function checkVersion(version: unknown, argument: string): asserts version is GraphVersion {
  const ok =
    (typeof version === "string" && version.length > 0 && version.length <= 100) ||
    (typeof version === "number" && Number.isSafeInteger(version) && version >= 1);
  if (!ok) {
    throw new InvalidArgumentError(
      argument,
      `expected a non-empty string (at most 100 characters) or a positive integer, got ${describe(version)}`,
    );
  }
}

function describe(value: unknown): string {
  if (typeof value === "string") return JSON.stringify(value);
  if (typeof value === "number" || typeof value === "boolean" || value == null)
    return String(value);
  return typeof value;
}

/** sha256 of the structure in a canonical order, first 12 hex digits (48 bits). */
function fingerprintOf(shape: StoredShape, structure: StructureInput): string {
  const canonical = {
    channels: Object.entries(shape.channels).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)),
    nodes: [...shape.nodes].sort(),
    edges: structure.edges.map((e) => `${e.from}>${e.to}`).sort(),
    joins: structure.joins.map((j) => `${[...j.from].sort().join("+")}>${j.to}`).sort(),
    branches: structure.branches
      .map((b) => `${b.from}>${b.targets === undefined ? "*" : [...b.targets].sort().join("|")}`)
      .sort(),
  };
  return createHash("sha256").update(JSON.stringify(canonical)).digest("hex").slice(0, 12);
}

function resolveMigrations(
  migrations: DeployOptions["migrations"],
  version: GraphVersion,
): { versions: GraphVersion[]; steps: MigrationStep[] } {
  if (migrations === undefined) return { versions: [version], steps: [] };
  const steps = Array.isArray(migrations)
    ? (migrations as readonly MigrationStep[]).map((step, i) => checkStep(step, i))
    : fromMap(migrations as MigrationMap);
  if (steps.length === 0) return { versions: [version], steps: [] };
  const versions: GraphVersion[] = [steps[0]!.from];
  for (const [i, step] of steps.entries()) {
    if (step.from !== versions[versions.length - 1]) {
      throw new InvalidArgumentError(
        `migrations[${i}].from`,
        `the steps must chain: ${JSON.stringify(step.from)} follows a step that ends at ${JSON.stringify(versions[versions.length - 1])} (a gap)`,
      );
    }
    if (versions.includes(step.to)) {
      throw new InvalidArgumentError(
        `migrations[${i}].to`,
        `version ${JSON.stringify(step.to)} appears twice in the steps (a duplicate)`,
      );
    }
    versions.push(step.to);
  }
  if (versions[versions.length - 1] !== version) {
    throw new InvalidArgumentError(
      "migrations",
      `the last step ends at ${JSON.stringify(versions[versions.length - 1])}, but the graph's version is ${JSON.stringify(version)}`,
    );
  }
  return { versions, steps };
}

function checkStep(step: unknown, index: number): MigrationStep {
  if (step === null || typeof step !== "object") {
    throw new InvalidArgumentError(`migrations[${index}]`, "expected { from, to, state?, plan? }");
  }
  const { from, to, state, plan } = step as Record<string, unknown>;
  checkVersion(from, `migrations[${index}].from`);
  checkVersion(to, `migrations[${index}].to`);
  if (from === to) {
    throw new InvalidArgumentError(
      `migrations[${index}]`,
      `from and to are both ${JSON.stringify(to)}`,
    );
  }
  for (const [key, fn] of [
    ["state", state],
    ["plan", plan],
  ] as const) {
    if (fn !== undefined && typeof fn !== "function") {
      throw new InvalidArgumentError(`migrations[${index}].${key}`, "expected a function");
    }
  }
  if (state === undefined && plan === undefined) {
    throw new InvalidArgumentError(`migrations[${index}]`, "give state, plan or both");
  }
  return step as MigrationStep;
}

/** `{ 2: f, 3: g }` → steps 1→2, 2→3: keys are consecutive integers from 2 (a gap is refused). */
function fromMap(map: MigrationMap): MigrationStep[] {
  if (map === null || typeof map !== "object") {
    throw new InvalidArgumentError(
      "migrations",
      "expected { [version]: (state) => state } or a list of { from, to, state?, plan? }",
    );
  }
  const keys = Object.keys(map);
  const targets = keys.map((key) => {
    const to = Number(key);
    if (!/^[1-9][0-9]*$/.test(key) || !Number.isSafeInteger(to) || to < 2) {
      throw new InvalidArgumentError(
        `migrations[${JSON.stringify(key)}]`,
        "keys are the integer versions (2 or more) each function migrates to, written without leading zeros",
      );
    }
    if (typeof map[to] !== "function") {
      throw new InvalidArgumentError(`migrations[${to}]`, "expected a function (state) => state");
    }
    return to;
  });
  targets.sort((a, b) => a - b);
  for (let i = 1; i < targets.length; i += 1) {
    if (targets[i] !== targets[i - 1]! + 1) {
      throw new InvalidArgumentError(
        "migrations",
        `no step to version ${targets[i - 1]! + 1} between ${targets[i - 1]} and ${targets[i]} (a gap)`,
      );
    }
  }
  return targets.map((to) => ({ from: to - 1, to, state: map[to]! }));
}

function resolveRenames(
  renamed: DeployOptions["renamedNodes"],
  nodes: readonly string[],
): ReadonlyMap<string, string> {
  if (renamed === undefined) return new Map();
  if (renamed === null || typeof renamed !== "object" || Array.isArray(renamed)) {
    throw new InvalidArgumentError("renamedNodes", "expected { oldName: newName }");
  }
  const map = new Map<string, string>();
  for (const [from, to] of Object.entries(renamed)) {
    if (typeof to !== "string" || !nodes.includes(to)) {
      throw new InvalidArgumentError(
        `renamedNodes[${JSON.stringify(from)}]`,
        `must name a node of this graph, got ${describe(to)} (nodes: ${nodes.join(", ")})`,
      );
    }
    if (nodes.includes(from)) {
      throw new InvalidArgumentError(
        `renamedNodes[${JSON.stringify(from)}]`,
        `"${from}" is still a node of this graph: only a name that is gone can be renamed`,
      );
    }
    map.set(from, to);
  }
  return map;
}

/** Reads `metadata.graph` of a stored checkpoint: undefined for one written before identities were recorded. */
export function storedIdentity(
  metadata: Readonly<Record<string, unknown>>,
): GraphIdentity | undefined {
  const graph = metadata.graph;
  if (graph === null || typeof graph !== "object" || Array.isArray(graph)) return undefined;
  const { name, version, fingerprint } = graph as Record<string, unknown>;
  if (typeof name !== "string" || typeof fingerprint !== "string") return undefined;
  if (typeof version !== "string" && typeof version !== "number") return undefined;
  return { name, version, fingerprint };
}

/**
 * Whether `stored` is a version this graph does not know and that may be
 * newer: a higher integer, or a version outside its migration chain. Version
 * 1 (a graph compiled without one) is never newer: it comes first.
 */
export function isNewerVersion(stored: GraphVersion, deploy: GraphDeploy): boolean {
  const mine = deploy.identity.version;
  if (stored === mine || stored === 1) return false;
  if (typeof stored === "number" && typeof mine === "number") return stored > mine;
  return !deploy.versions.includes(stored);
}
