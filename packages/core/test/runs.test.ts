import { MemoryCheckpointer } from "@waypoint/checkpoint";
import { runWorkerSuite } from "@waypoint/core/testing";

runWorkerSuite({ name: "memory", create: () => new MemoryCheckpointer() });
