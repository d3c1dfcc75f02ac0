/**
 * Where the report is "emailed": an HTTP endpoint on 127.0.0.1 that keeps
 * messages in memory and, like a real mail API, deduplicates by idempotency
 * key. A second request with a key it has seen is answered with the first
 * message's id and not delivered again.
 */
import { createServer } from "node:http";
import { close, listen } from "./http-server.js";

export interface Mail {
  readonly to: string;
  readonly subject: string;
  readonly body: string;
}

export interface MailReceipt {
  readonly messageId: string;
  /** True when the key had been seen: the message was not delivered again. */
  readonly duplicate: boolean;
}

export interface MailClient {
  send(mail: Mail, idempotencyKey: string, signal: AbortSignal): Promise<MailReceipt>;
}

export interface MailSink {
  readonly url: string;
  /** Delivered messages, one per idempotency key, and every request received. */
  delivered(): readonly (Mail & { messageId: string; idempotencyKey: string })[];
  requests(): number;
  close(): Promise<void>;
}

/** Serves `POST /messages` (JSON body, `idempotency-key` header). */
export async function startMailSink(): Promise<MailSink> {
  const byKey = new Map<string, Mail & { messageId: string; idempotencyKey: string }>();
  let requests = 0;
  const server = createServer((request, response) => {
    let body = "";
    request.setEncoding("utf8");
    request.on("data", (chunk: string) => (body += chunk));
    request.on("end", () => {
      const key = request.headers["idempotency-key"];
      if (request.method !== "POST" || request.url !== "/messages" || typeof key !== "string") {
        response.writeHead(400).end();
        return;
      }
      requests += 1;
      const seen = byKey.get(key);
      if (seen === undefined) {
        const mail = JSON.parse(body) as Mail;
        byKey.set(key, { ...mail, messageId: `msg-${byKey.size + 1}`, idempotencyKey: key });
      }
      const receipt: MailReceipt = { messageId: byKey.get(key)!.messageId, duplicate: !!seen };
      response.writeHead(200, { "content-type": "application/json" });
      response.end(JSON.stringify(receipt));
    });
  });
  const url = await listen(server);
  return {
    url,
    delivered: () => [...byKey.values()],
    requests: () => requests,
    close: () => close(server),
  };
}

export function mailClient(baseUrl: string): MailClient {
  return {
    async send(mail, idempotencyKey, signal) {
      const response = await fetch(new URL("/messages", baseUrl), {
        method: "POST",
        headers: { "content-type": "application/json", "idempotency-key": idempotencyKey },
        body: JSON.stringify(mail),
        signal,
      });
      if (!response.ok) throw new Error(`POST /messages: HTTP ${response.status}`);
      return (await response.json()) as MailReceipt;
    },
  };
}
