/**
 * Why `name` cannot be an npm package name, or undefined if it can. The
 * project's folder name becomes its package name, so it follows npm's rules
 * for a new, unscoped package.
 */
export function packageNameProblem(name: string): string | undefined {
  if (name === "") return "it is empty";
  if (name.length > 214) return "it is longer than 214 characters";
  if (name !== name.toLowerCase()) return "it has capital letters";
  if (/^[._]/.test(name)) return "it starts with . or _";
  if (!/^[a-z0-9][a-z0-9._~-]*$/.test(name))
    return "use only lowercase letters, digits, and - . _ ~";
  if (name === "node_modules" || name === "favicon.ico") return "that name is reserved";
  return undefined;
}
