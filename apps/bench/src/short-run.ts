import { fork } from "node:child_process";
import { fileURLToPath } from "node:url";
import { STEPS, expectChainLog, runChain, type Invoke } from "./memory-chain.js";

/**
 * The short run (issue 22): what a short-lived process or a cold code path
 * sees. Each run is a new process that loads one side, builds the chain,
 * invokes it once on a thread of its own (the warm-up), then measures 100
 * supersteps (the chain's 10 invocations on a new thread), ms per superstep.
 */
export type ShortRunSide = "waypoint" | "langgraph";

async function openSide(side: ShortRunSide): Promise<Invoke> {
  // Each process loads only its side's code (LangGraph's turns on AsyncLocalStorage's hooks).
  if (side === "waypoint") {
    const [{ MemoryCheckpointer }, { waypointChain }] = await Promise.all([
      import("@waypoint/checkpoint"),
      import("./memory-chain.js"),
    ]);
    return waypointChain(new MemoryCheckpointer());
  }
  const [{ MemorySaver }, { langGraphChain }] = await Promise.all([
    import("@langchain/langgraph"),
    import("./langgraph-chain.js"),
  ]);
  return langGraphChain(new MemorySaver());
}

/** One short run in a new process: its ms per superstep. */
export function shortRun(side: ShortRunSide): Promise<number> {
  return new Promise((resolve, reject) => {
    // The child runs this file under the same loader (tsx) as the suite.
    const child = fork(fileURLToPath(import.meta.url), [side], {
      stdio: ["ignore", "inherit", "inherit", "ipc"],
    });
    let result: number | undefined;
    child.on("message", (message: { msPerStep: number }) => (result = message.msPerStep));
    child.on("error", reject);
    child.on("exit", (code) => {
      if (result !== undefined) resolve(result);
      else reject(new Error(`short run (${side}) exited with ${code} before reporting`));
    });
  });
}

async function child(side: ShortRunSide): Promise<void> {
  const invoke = await openSide(side);
  await invoke("warm-up");
  const start = performance.now();
  const log = await runChain(invoke, "measured");
  const msPerStep = (performance.now() - start) / STEPS;
  expectChainLog(side, log);
  process.send!({ msPerStep }, () => process.exit(0));
}

if (process.argv[1] === fileURLToPath(import.meta.url) && process.send !== undefined) {
  await child(process.argv[2] as ShortRunSide);
}
