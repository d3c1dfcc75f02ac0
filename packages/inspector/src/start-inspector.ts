import { randomBytes } from "node:crypto";
import type { AddressInfo } from "node:net";
import { serve } from "@hono/node-server";
import { createInspectorApp, type InspectorOptions } from "./inspector-app.js";

/**
 * Options of `startInspector`: those of `createInspectorApp`, plus where to listen
 * and the token (a random one by default).
 *
 * @experimental
 */
export interface StartInspectorOptions extends Omit<InspectorOptions, "token"> {
  /** Default 127.0.0.1: only this machine can reach the page. */
  readonly host?: string;
  /** Default 0: a free port. */
  readonly port?: number;
  /** The token writes need; a random one when omitted. */
  readonly token?: string;
}

/**
 * The inspector's server, once listening: its address, the token writes need,
 * and `close`.
 *
 * @experimental
 */
export interface RunningInspector {
  /** The page's address, `http://127.0.0.1:PORT/`. Open it with `?token=<token>` to act from the page. */
  readonly url: string;
  readonly token: string;
  /** Stops the server and closes its open connections; the checkpointer stays open. */
  close(): Promise<void>;
}

/**
 * Starts the inspector's server; the checkpointer stays open (the caller closes it).
 *
 * @experimental
 */
export async function startInspector(options: StartInspectorOptions): Promise<RunningInspector> {
  const { host = "127.0.0.1", port = 0 } = options;
  const token = options.token ?? randomBytes(24).toString("base64url");
  const loopback = ["127.0.0.1", "localhost", "::1", "[::1]"].includes(host);
  const app = createInspectorApp({
    ...options,
    token,
    ...(loopback ? { allowedHosts: ["127.0.0.1", "localhost", "[::1]"] } : {}),
  });
  const server = await new Promise<ReturnType<typeof serve>>((resolve, reject) => {
    const started = serve({ fetch: app.fetch, hostname: host, port }, () => resolve(started));
    started.once("error", reject);
  });
  const address = server.address() as AddressInfo;
  const shown = host.includes(":") ? `[${host}]` : host === "0.0.0.0" ? "127.0.0.1" : host;
  return {
    url: `http://${shown}:${address.port}/`,
    token,
    close: () =>
      new Promise<void>((resolve, reject) => {
        // Polling pages keep connections alive; close them so close() does not wait for them.
        (server as { closeAllConnections?: () => void }).closeAllConnections?.();
        server.close((error) => (error ? reject(error) : resolve()));
      }),
  };
}
