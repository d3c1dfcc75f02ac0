/**
 * A run op as the SIGKILL child receives it: JSON, with `undefined` kept
 * apart (a resume value of `undefined` is valid and must arrive as such).
 */
import { Command } from "@waypoint/core";

type Wire = { readonly undef: true } | { readonly value: unknown };

export type ChildInput =
  | { readonly kind: "null" }
  | { readonly kind: "input"; readonly value: Readonly<Record<string, unknown>> }
  | { readonly kind: "resume"; readonly bare: Wire }
  | { readonly kind: "resumeById"; readonly answers: Readonly<Record<string, Wire>> };

export interface ChildOp {
  readonly input: ChildInput;
  readonly checkpointId?: string;
}

const wire = (value: unknown): Wire => (value === undefined ? { undef: true } : { value });
const unwire = (w: Wire): unknown => ("undef" in w ? undefined : w.value);

export const childInput = {
  none: (): ChildInput => ({ kind: "null" }),
  input: (value: Record<string, unknown>): ChildInput => ({ kind: "input", value }),
  bare: (value: unknown): ChildInput => ({ kind: "resume", bare: wire(value) }),
  byId: (answers: Record<string, unknown>): ChildInput => ({
    kind: "resumeById",
    answers: Object.fromEntries(Object.entries(answers).map(([id, v]) => [id, wire(v)])),
  }),
};

/** What to pass to invoke/stream for this input. */
export function runInput(input: ChildInput): unknown {
  switch (input.kind) {
    case "null":
      return null;
    case "input":
      return input.value;
    case "resume":
      return new Command({ resume: unwire(input.bare) });
    case "resumeById":
      return new Command({
        resume: Object.fromEntries(Object.entries(input.answers).map(([id, w]) => [id, unwire(w)])),
      });
  }
}
