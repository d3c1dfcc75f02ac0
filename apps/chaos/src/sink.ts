import { createServer } from "node:http";
import type { AddressInfo } from "node:net";

/**
 * The effect every step performs, as a real API with idempotency keys would
 * see it: an HTTP endpoint on 127.0.0.1 that applies the first request with a
 * key and answers later ones with the same result without applying them.
 */
export interface EffectSink {
  readonly url: string;
  /** Every request received, including repeats of a key. */
  readonly requests: () => number;
  /** What was applied, by idempotency key. */
  readonly applied: () => ReadonlyMap<string, string>;
  close(): Promise<void>;
}

/**
 * `replyAfterMs` holds each reply after the effect is applied, as a slow API
 * does: a worker killed in that window has applied the effect without
 * recording it, and its successor repeats the request with the same key.
 */
export async function startSink(replyAfterMs = 20): Promise<EffectSink> {
  const applied = new Map<string, string>();
  let requests = 0;
  const server = createServer((request, response) => {
    let body = "";
    request.setEncoding("utf8");
    request.on("data", (chunk: string) => (body += chunk));
    request.on("end", () => {
      const key = request.headers["idempotency-key"];
      if (typeof key !== "string") {
        response.writeHead(400).end();
        return;
      }
      requests += 1;
      if (!applied.has(key)) applied.set(key, body);
      const reply = applied.get(key);
      setTimeout(
        () => response.writeHead(200, { "content-type": "text/plain" }).end(reply),
        replyAfterMs,
      );
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    requests: () => requests,
    applied: () => applied,
    close: () => {
      server.closeAllConnections();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}
