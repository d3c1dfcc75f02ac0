/**
 * `npm start [name]`: greets `name` on a SQLite thread named after it. Run it
 * twice: the second run finds the finished thread and sends nothing. Stop it
 * half way (or let the send fail) and run it again: it resumes the thread.
 */
import { SqliteCheckpointer } from "@waypoint/checkpoint-sqlite";
import { buildGreeter, runGreeter } from "./agent.js";
import { Outbox } from "./outbox.js";

const name = process.argv[2] ?? "world";
const threadId = `greet-${name}`;
// One file in WAL mode; any process that opens it can resume the thread.
const checkpointer = new SqliteCheckpointer(".waypoint/checkpoints.db");
const outbox = new Outbox(".waypoint/outbox.jsonl");
try {
  const greeter = buildGreeter({ checkpointer, send: (message) => outbox.send(message) });
  const result = await runGreeter(greeter, threadId, name);
  console.log(`${result.greeting} (thread ${threadId}, receipt ${result.receipt})`);
  console.log(`Messages in the outbox: ${outbox.messages().length}`);
} finally {
  await checkpointer.close();
}
