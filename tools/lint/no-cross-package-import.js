// @ts-check
// An ESLint rule: a relative import must not climb out of its own package into
// another one (`../../checkpoint/src/x.js`). Packages reach each other through
// their names and exports, so a release never depends on another package's files.
import { existsSync } from "node:fs";
import { dirname, resolve, sep } from "node:path";

/** @type {Map<string, string | undefined>} */
const packageRoots = new Map();

/** The nearest folder at or above `dir` that holds a package.json. */
function packageRootOf(/** @type {string} */ dir) {
  if (packageRoots.has(dir)) return packageRoots.get(dir);
  const parent = dirname(dir);
  const root = existsSync(resolve(dir, "package.json"))
    ? dir
    : parent === dir
      ? undefined
      : packageRootOf(parent);
  packageRoots.set(dir, root);
  return root;
}

/** @type {import("eslint").Rule.RuleModule} */
export const noCrossPackageImport = {
  meta: {
    type: "problem",
    docs: { description: "Disallow relative imports that reach into another package." },
    messages: {
      crossPackage:
        "'{{specifier}}' reaches into another package ({{target}}); import it by its package name.",
    },
    schema: [],
  },
  create(context) {
    const fromDir = dirname(context.filename);
    const ownRoot = packageRootOf(fromDir);

    /** @param {import("estree").Node | null | undefined} source */
    function check(source) {
      if (source?.type !== "Literal" || typeof source.value !== "string") return;
      const specifier = source.value;
      if (!specifier.startsWith("../")) return;
      const targetRoot = packageRootOf(dirname(resolve(fromDir, specifier)));
      if (targetRoot !== ownRoot) {
        const target = targetRoot?.split(sep).slice(-2).join("/") ?? "outside any package";
        context.report({ node: source, messageId: "crossPackage", data: { specifier, target } });
      }
    }

    return {
      ImportDeclaration: (node) => check(node.source),
      ExportNamedDeclaration: (node) => check(node.source),
      ExportAllDeclaration: (node) => check(node.source),
      ImportExpression: (node) => check(node.source),
    };
  },
};
