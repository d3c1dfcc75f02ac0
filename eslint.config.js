// @ts-check
import js from "@eslint/js";
import tseslint from "typescript-eslint";
import { noCrossPackageImport } from "./tools/lint/no-cross-package-import.js";

export default tseslint.config(
  {
    ignores: [
      "**/dist/**",
      "**/node_modules/**",
      "**/coverage/**",
      "**/.turbo/**",
      "**/fixtures/**",
      "**/.snippets/**",
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      // In durable code a lost promise is a lost write.
      "@typescript-eslint/no-floating-promises": "error",
      "@typescript-eslint/no-misused-promises": "error",
      "@typescript-eslint/consistent-type-imports": "error",
      "@typescript-eslint/no-explicit-any": "error",
      // Async generators that only yield (list) are fine.
      "@typescript-eslint/require-await": "off",
      "@typescript-eslint/no-unused-vars": [
        "error",
        { argsIgnorePattern: "^_", varsIgnorePattern: "^_" },
      ],
    },
  },
  {
    plugins: {
      waypoint: { rules: { "no-cross-package-import": noCrossPackageImport } },
    },
    rules: {
      // Another package is reached through its package name and its exports, never its files.
      "waypoint/no-cross-package-import": "error",
      "no-restricted-imports": [
        "error",
        {
          patterns: [
            {
              regex: "^@waypoint/[^/]+/(src|internal|dist)(/|$)",
              message:
                "Import another package by its exports, not its src/, internal/ or dist/ files.",
            },
          ],
        },
      ],
    },
  },
  {
    files: ["**/*.js", "**/*.mjs"],
    ...tseslint.configs.disableTypeChecked,
  },
);
