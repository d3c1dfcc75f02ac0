import type { Checkpointer } from "@waypoint/checkpoint";
import { afterEach, describe } from "vitest";
import { compatibleChangeTests } from "./deploy-suite/compatible-changes.js";
import { migrationCrashTests } from "./deploy-suite/migration-crashes.js";
import { migrationTests } from "./deploy-suite/migrations.js";
import { refusedChangeTests } from "./deploy-suite/refused-changes.js";
import { disarmFaults } from "../src/faults.js";

export interface DeploySuiteOptions {
  readonly name: string;
  /** A fresh, empty store for one test. */
  create(): Checkpointer | Promise<Checkpointer>;
  /** Called after each test; defaults to `close()`. */
  destroy?(checkpointer: Checkpointer): void | Promise<void>;
}

/**
 * Deploys that change the graph, on one backend: a thread paused on one
 * version goes on on the next (added nodes and channels, renames,
 * migrations), or is refused with nothing written.
 */
export function runDeploySuite(options: DeploySuiteOptions): void {
  describe(`${options.name}: deploys that change the graph`, () => {
    const cleanup: (() => Promise<void>)[] = [];
    afterEach(async () => {
      disarmFaults();
      for (const step of cleanup.splice(0).reverse()) await step();
    });

    async function store(): Promise<Checkpointer> {
      const checkpointer = await options.create();
      cleanup.push(async () => {
        await (options.destroy ? options.destroy(checkpointer) : checkpointer.close());
      });
      return checkpointer;
    }

    compatibleChangeTests(store);
    refusedChangeTests(store);
    migrationTests(store);
    migrationCrashTests(store);
  });
}
