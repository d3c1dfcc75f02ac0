// @ts-check
// Fails when the package in the working folder has an import cycle among its
// own files. Type-only imports count: a type-only cycle still makes a reader
// hold two files in mind at once. Run from a package's lint script.
import { sep } from "node:path";
import { parseCircular, parseDependencyTree, prettyCircular } from "dpdm";

const packageDir = process.cwd() + sep;
const tree = await parseDependencyTree(
  ["src/**/*.ts", "src/**/*.tsx", "testing/**/*.ts", "test/**/*.ts"],
  {
    // Other packages are linted on their own; only this package's files are followed.
    include: new RegExp(`^${packageDir.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}`),
    exclude: /[\\/]node_modules[\\/]/,
    transform: false,
  },
);
const cycles = parseCircular(tree);
if (cycles.length > 0) {
  console.error(`Import cycles in ${packageDir}:\n${prettyCircular(cycles)}`);
  process.exitCode = 1;
}
