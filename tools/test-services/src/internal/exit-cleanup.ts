// Test runs crash, and a crashed run must not leave servers behind. Each server
// registers a synchronous cleanup here, and one 'exit' handler runs them all.
// ('exit' handlers cannot await, so cleanups use kill() and *Sync calls.)

const cleanups = new Set<() => void>();

function runCleanups(): void {
  for (const cleanup of cleanups) {
    try {
      cleanup();
    } catch {
      // Best effort: one failed cleanup must not stop the others.
    }
  }
  cleanups.clear();
}

/** Registers `cleanup` to run at process exit; call the result to unregister it. */
export function cleanupOnExit(cleanup: () => void): () => void {
  if (cleanups.size === 0) process.once("exit", runCleanups);
  cleanups.add(cleanup);
  return () => {
    cleanups.delete(cleanup);
    if (cleanups.size === 0) process.removeListener("exit", runCleanups);
  };
}
