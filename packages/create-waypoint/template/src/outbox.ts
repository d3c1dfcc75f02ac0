import { appendFileSync, existsSync, mkdirSync, readFileSync } from "node:fs";
import { dirname } from "node:path";

export interface Message {
  readonly to: string;
  readonly text: string;
  /** The same on every replay of the effect that sends it. */
  readonly idempotencyKey: string;
}

/**
 * A stand-in for an email or chat API: one JSON line per delivered message in
 * a file. Like a real API that accepts idempotency keys, it delivers a message
 * whose key it has seen once, and answers the repeat with the first receipt.
 */
export class Outbox {
  constructor(readonly file: string) {}

  send(message: Message): string {
    const earlier = this.messages().findIndex((m) => m.idempotencyKey === message.idempotencyKey);
    if (earlier !== -1) return `msg-${earlier + 1}`;
    mkdirSync(dirname(this.file), { recursive: true });
    appendFileSync(this.file, `${JSON.stringify(message)}\n`);
    return `msg-${this.messages().length}`;
  }

  messages(): Message[] {
    if (!existsSync(this.file)) return [];
    return readFileSync(this.file, "utf8")
      .split("\n")
      .filter((line) => line !== "")
      .map((line) => JSON.parse(line) as Message);
  }
}
