/**
 * Runs an in-memory operation synchronously, so that it is atomic, after
 * checking the store is open; a throw becomes a rejection, as a durable
 * backend's error would.
 */
export function atomically<T>(assertOpen: () => void, operation: () => T): Promise<T> {
  try {
    assertOpen();
    return Promise.resolve(operation());
  } catch (error) {
    return Promise.reject(error instanceof Error ? error : new Error(String(error)));
  }
}
