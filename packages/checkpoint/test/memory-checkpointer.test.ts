import { MemoryCheckpointer } from "@waypoint/checkpoint";
import { runCheckpointerConformance, runRunStoreConformance } from "@waypoint/checkpoint/testing";

const memory = {
  name: "memory",
  create: (options: ConstructorParameters<typeof MemoryCheckpointer>[0]) =>
    new MemoryCheckpointer(options),
};

runCheckpointerConformance(memory);
runRunStoreConformance(memory);
