import { existsSync, readFileSync, readdirSync } from "node:fs";
import type { CheckpointHeader, PlannedTask } from "../src/checkpoint.js";
import type { Checkpointer, ThreadExport } from "../src/checkpointer.js";
import { INTERRUPT_CHANNEL } from "../src/pending-writes.js";
import { ThreadWriter, applyWrite } from "./harness.js";
import { sampleValues } from "./sample-values.js";

/**
 * The golden thread: a fixed history that exercises every part of the
 * stored format (snapshots, deltas, a fork, a child namespace, Send payloads,
 * pending writes, every value type). `pnpm fixtures:write` stores it once per
 * format version under fixtures/v<N>/; tests load every stored version.
 */
interface GoldenStep {
  readonly label: string;
  /** Continue from this label instead of the namespace's last step (a fork). */
  readonly from?: string;
  readonly namespace?: string;
  readonly writes: readonly [string, unknown][];
}

export const GOLDEN_SNAPSHOTS = { factor: 1, minBytes: 512, maxChain: 4 };

export function goldenSteps(): GoldenStep[] {
  const steps: GoldenStep[] = [
    {
      label: "main-0",
      writes: [
        ["values", sampleValues()],
        ["log", "start"],
      ],
    },
  ];
  for (let step = 1; step <= 9; step += 1) {
    steps.push({
      label: `main-${step}`,
      writes: [
        ["log", `page ${step} `.padEnd(120, "·")],
        ["last", new Date(step * 1000)],
      ],
    });
  }
  steps.push({
    label: "fork-0",
    from: "main-4",
    writes: [
      ["log", "forked"],
      ["last", new Map([["why", 1n]])],
    ],
  });
  steps.push({ label: "fork-1", writes: [["values", sampleValues()]] });
  steps.push({
    label: "child-0",
    namespace: "summarise:task-7",
    writes: [["log", { child: true }]],
  });
  steps.push({
    label: "child-1",
    namespace: "summarise:task-7",
    writes: [["log", new Set(["a"])]],
  });
  return steps;
}

/** The state each labelled checkpoint must rebuild to. */
export function goldenStates(): Map<string, Record<string, unknown>> {
  const states = new Map<string, Record<string, unknown>>();
  const lastByNamespace = new Map<string, string>();
  for (const step of goldenSteps()) {
    const namespace = step.namespace ?? "";
    const parent = step.from ?? lastByNamespace.get(namespace);
    const state = { ...(parent === undefined ? {} : states.get(parent)) };
    for (const [channel, value] of step.writes) applyWrite(state, channel, value);
    states.set(step.label, state);
    lastByNamespace.set(namespace, step.label);
  }
  return states;
}

export const GOLDEN_PENDING = [
  {
    taskId: "task-interrupt",
    idx: 0,
    channel: INTERRUPT_CHANNEL,
    value: { question: "approve?", at: new Date(7) },
  },
  { taskId: "task-done", idx: 0, channel: "log", value: sampleValues().map },
];

/**
 * Planned tasks the fixtures carry from format 2 on (v1's carry only the
 * Send above): a trigger that has no channel version (format 2 names it in
 * its channel table with a null version) and a Send of plain JSON (stored
 * without annotations).
 */
export function goldenPlanSinceV2(label: string): PlannedTask[] {
  return [
    { id: `review-${label}`, node: "review", triggers: ["log", "review:requests"] },
    { id: `notify-${label}`, node: "notify", triggers: [], send: { index: 1, payload: { label } } },
  ];
}

/**
 * Versions as the runtime keeps them, from format 3 on (whose headers are
 * deltas from their parents'): a channel's version moves only when it is
 * written, "review" has seen "values" and moves only with it, and a channel
 * "draft" is there only at odd steps (a delta removes it).
 */
function goldenVersionsSinceV3(
  step: GoldenStep,
  parent: CheckpointHeader | null,
): Pick<CheckpointHeader, "channelVersions" | "versionsSeen"> {
  const channelVersions: Record<string, number> = { ...parent?.channelVersions };
  delete channelVersions.draft;
  for (const [channel] of step.writes)
    channelVersions[channel] = (channelVersions[channel] ?? 0) + 1;
  const stepNumber = (parent?.step ?? -1) + 1;
  if (stepNumber % 2 === 1) channelVersions.draft = stepNumber;
  return {
    channelVersions,
    versionsSeen: {
      agent: { log: channelVersions.log ?? 0 },
      review: { values: channelVersions.values ?? 0 },
    },
  };
}

/** Writes the golden thread (the fixture script's job). */
export async function writeGoldenThread(
  checkpointer: Checkpointer,
  threadId: string,
): Promise<void> {
  const writers = new Map<string, ThreadWriter>();
  const byLabel = new Map<string, ThreadWriter>();
  const headers = new Map<string, Awaited<ReturnType<ThreadWriter["write"]>>>();
  const states = new Map<string, Record<string, unknown>>();
  for (const step of goldenSteps()) {
    const namespace = step.namespace ?? "";
    let writer = writers.get(namespace) ?? new ThreadWriter(checkpointer, threadId, namespace);
    let expectedHeadId: string | undefined;
    if (step.from !== undefined) {
      expectedHeadId = writer.head!.id;
      writer = ThreadWriter.fork(
        byLabel.get(step.from)!,
        headers.get(step.from)!,
        states.get(step.from)!,
      );
    }
    const header = await writer.write(step.writes, {
      ...goldenVersionsSinceV3(step, writer.head),
      metadata: { label: step.label },
      ...(expectedHeadId === undefined ? {} : { expectedHeadId }),
      next: [
        {
          id: `after-${step.label}`,
          node: "fetch",
          triggers: [],
          send: { index: 0, payload: { url: new URL(`https://example.org/${step.label}`) } },
        },
        ...goldenPlanSinceV2(step.label),
      ],
    });
    writers.set(namespace, writer);
    byLabel.set(step.label, writer);
    headers.set(step.label, header);
    states.set(step.label, writer.state);
  }
  const head = writers.get("")!.head!;
  await checkpointer.putPendingWrites({ threadId, checkpointId: head.id }, GOLDEN_PENDING);
}

/**
 * The package's fixtures/ folder, found from this file whether it runs from
 * its source (testing/) or its build (dist/testing/): the nearest folder up
 * that holds package.json.
 */
export const FIXTURES_URL = new URL("fixtures/", packageRoot(new URL("./", import.meta.url)));

function packageRoot(folder: URL): URL {
  if (existsSync(new URL("package.json", folder))) return folder;
  const parent = new URL("../", folder);
  if (parent.href === folder.href) throw new Error(`no package.json above ${import.meta.url}`);
  return packageRoot(parent);
}

/** Every committed fixture: [file name, export]. */
export function loadGoldenFixtures(): [string, ThreadExport][] {
  const fixtures: [string, ThreadExport][] = [];
  for (const version of readdirSync(FIXTURES_URL)
    .filter((name) => /^v\d+$/.test(name))
    .sort()) {
    const url = new URL(`${version}/thread.json`, FIXTURES_URL);
    fixtures.push([
      `${version}/thread.json`,
      JSON.parse(readFileSync(url, "utf8")) as ThreadExport,
    ]);
  }
  return fixtures;
}
