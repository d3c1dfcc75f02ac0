/**
 * Writes the golden fixture of the current format version, once. Committed
 * fixtures are never rewritten: later code must keep loading them.
 */
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { FORMAT_VERSION } from "../src/checkpoint.js";
import { MemoryCheckpointer } from "../src/memory-checkpointer.js";
import { FIXTURES_URL, GOLDEN_SNAPSHOTS, writeGoldenThread } from "../testing/golden.js";
import { suiteSerializer } from "../testing/harness.js";

const directory = new URL(`v${FORMAT_VERSION}/`, FIXTURES_URL);
const file = new URL("thread.json", directory);
if (existsSync(file)) {
  console.error(`${file.pathname} exists; fixtures of a released format are never rewritten.`);
  process.exit(1);
}
const checkpointer = new MemoryCheckpointer({
  serializer: suiteSerializer(),
  snapshots: GOLDEN_SNAPSHOTS,
});
await writeGoldenThread(checkpointer, "golden-thread");
const exported = await checkpointer.exportThread("golden-thread");
mkdirSync(directory, { recursive: true });
writeFileSync(file, `${JSON.stringify(exported, null, 1)}\n`);
console.log(
  `wrote ${file.pathname}: ${exported.checkpoints.length} checkpoints, ${exported.pendingWrites.length} pending writes`,
);
