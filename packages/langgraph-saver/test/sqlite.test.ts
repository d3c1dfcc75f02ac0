import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll } from "vitest";
import { SqliteCheckpointer } from "@waypoint/checkpoint-sqlite";
import { WaypointSaver } from "../src/index.js";
import { runLangGraphValidation } from "./validation.js";

const directory = mkdtempSync(join(tmpdir(), "waypoint-langgraph-saver-"));
let files = 0;
afterAll(() => rmSync(directory, { recursive: true, force: true }));

// A real file per saver: the suite lists across all threads, so none may share one.
runLangGraphValidation({
  checkpointerName: "WaypointSaver on SqliteCheckpointer",
  createCheckpointer: () =>
    new WaypointSaver(new SqliteCheckpointer(join(directory, `validation-${++files}.db`))),
  destroyCheckpointer: (saver) => saver.checkpointer.close(),
});
