import { defaultServerConditions } from "vite";
import { defineConfig } from "vitest/config";

// Tests run on the packages' TypeScript sources (the "@waypoint/source" export
// condition), so `pnpm test` needs no build first.
const conditions = ["@waypoint/source", ...defaultServerConditions];

const shared = {
  resolve: { conditions },
  ssr: { resolve: { conditions } },
};

export default defineConfig({
  test: {
    reporters: ["default", "./tools/vitest-summary-reporter.ts"],
    projects: [
      {
        ...shared,
        test: {
          name: "unit",
          include: [
            "packages/*/test/**/*.test.ts",
            "apps/*/test/**/*.test.ts",
            "tools/*/test/**/*.test.ts",
          ],
          exclude: ["**/*.int.test.ts", "**/node_modules/**"],
        },
      },
      {
        ...shared,
        test: {
          name: "int",
          include: [
            "packages/*/test/**/*.int.test.ts",
            "apps/*/test/**/*.int.test.ts",
            "tools/*/test/**/*.int.test.ts",
          ],
          globalSetup: ["./tools/test-services/src/global-setup.ts"],
          testTimeout: 60_000,
          hookTimeout: 60_000,
        },
      },
    ],
  },
});
