/**
 * pnpm demo: a run that checkpoints every superstep, loses its process
 * state half-way, resumes by thread id, then forks from an old checkpoint.
 */
import { MemoryCheckpointer } from "@waypoint/checkpoint";
import { PAGES, replay, runTour } from "./tour.js";

const checkpointer = new MemoryCheckpointer();
const threadId = "tour-1";
const log = (text: string) => console.log(text);

log(`Waypoint checkpoint tour: ${PAGES.length} supersteps on thread "${threadId}"\n`);
await runTour(checkpointer, threadId, {
  maxSteps: 3,
  onStep: (step, state) => log(`  step ${step}: ${state.notes.at(-1)}  (checkpointed)`),
});
log("  -- the worker stops here; everything it held in memory is gone --\n");

const threads = await checkpointer.listThreads({ status: "pending" });
log(
  `A new worker finds ${threads.threads.length} unfinished thread(s): ${threads.threads.map((t) => `${t.threadId} at step ${t.step}`).join(", ")}`,
);
const final = await runTour(checkpointer, threadId, {
  onStep: (step, state) => log(`  step ${step}: ${state.notes.at(-1)}  (resumed)`),
});
log(`\nFinished: ${final.pagesRead} pages, each read once: ${final.notes.join(", ")}`);

const history = [];
for await (const header of checkpointer.list(threadId)) history.push(header);
log(
  `\nHistory (newest first): ${history.map((h) => `#${h.step}${h.chain.length === 0 ? "*" : ""}`).join(" ")}   (* = holds a full snapshot; the rest store only their delta)`,
);

const stepOne = history.find((h) => h.step === 1)!;
const forked = await runTour(checkpointer, threadId, { from: stepOne, maxSteps: 1 });
const main = replay((await checkpointer.get(threadId, { checkpointId: history[0]!.id }))!);
log(
  `\nTime travel: forked from step 1 and ran one step -> ${forked.notes.length} notes on the fork, ${main.notes.length} on the original branch (unchanged).`,
);
await checkpointer.close();
