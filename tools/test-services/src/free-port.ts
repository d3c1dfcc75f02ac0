import { createServer } from "node:net";

/**
 * Asks the OS for a free TCP port on 127.0.0.1. The port is released before it
 * is returned, so another process can still take it: servers started on it
 * retry with a new port when they find it in use.
 */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const port = typeof address === "object" && address !== null ? address.port : 0;
      server.close(() => {
        if (port > 0) resolve(port);
        else reject(new Error(`could not read a port from ${JSON.stringify(address)}`));
      });
    });
  });
}
