import { describe, expect, it } from "vitest";
import { FORMAT_VERSION } from "../../src/checkpoint.js";
import { GOLDEN_PENDING, goldenPlanSinceV2, goldenStates, loadGoldenFixtures } from "../golden.js";
import { type ConformanceOptions, collect, rebuild, useCheckpointer } from "../harness.js";

export function fixturesSpec(options: ConformanceOptions): void {
  describe("golden fixtures", () => {
    const checkpointer = useCheckpointer(options);
    const fixtures = loadGoldenFixtures();

    it("has a fixture for every format version", () => {
      expect(fixtures.map(([name]) => name)).toEqual(
        Array.from({ length: FORMAT_VERSION }, (_, i) => `v${i + 1}/thread.json`),
      );
      for (const [name, fixture] of fixtures) {
        const version = Number(name.slice(1, name.indexOf("/")));
        expect(fixture.checkpoints.map((c) => c.formatVersion)).toEqual(
          fixture.checkpoints.map(() => version),
        );
      }
    });

    for (const [name, fixture] of fixtures) {
      it(`loads ${name}: every checkpoint rebuilds to its recorded state`, async () => {
        await checkpointer().importThread(fixture);
        const states = goldenStates();
        let checked = 0;
        for (const namespace of ["", "summarise:task-7"]) {
          for (const header of await collect(
            checkpointer().list(fixture.threadId, { namespace }),
          )) {
            const label = header.metadata.label as string;
            const loaded = await checkpointer().get(fixture.threadId, {
              namespace,
              checkpointId: header.id,
            });
            expect(rebuild(loaded!), label).toEqual(states.get(label));
            expect((loaded!.checkpoint.next[0]?.send?.payload as { url: URL }).url.href).toContain(
              label,
            );
            expect(loaded!.checkpoint.next.slice(1)).toEqual(
              fixture.formatVersion === 1 ? [] : goldenPlanSinceV2(label),
            );
            checked += 1;
          }
        }
        expect(checked).toBe(states.size);
        const head = await checkpointer().get(fixture.threadId);
        expect(head?.checkpoint.metadata.label).toBe("fork-1");
        expect(head?.pendingWrites).toEqual(
          [...GOLDEN_PENDING].sort((a, b) => (a.taskId < b.taskId ? -1 : 1)),
        );
      });
    }
  });
}
