import { MemoryCheckpointer } from "@waypoint/checkpoint";
import { runCheckpointerConformance } from "@waypoint/checkpoint/testing";

runCheckpointerConformance({
  name: "memory",
  create: (options) => new MemoryCheckpointer(options),
});
