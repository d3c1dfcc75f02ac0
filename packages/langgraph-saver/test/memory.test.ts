import { MemoryCheckpointer } from "@waypoint/checkpoint";
import { WaypointSaver } from "../src/index.js";
import { runLangGraphValidation } from "./validation.js";

runLangGraphValidation({
  checkpointerName: "WaypointSaver on MemoryCheckpointer",
  createCheckpointer: () => new WaypointSaver(new MemoryCheckpointer()),
  destroyCheckpointer: (saver) => saver.checkpointer.close(),
});
