import type { Attributes, Context, Tracer } from "@opentelemetry/api";
import type { Checkpointer } from "@waypoint/checkpoint";
import type { Instruments } from "./instruments.js";
import { backendOf, failSpan } from "./span-helpers.js";

/** What a store operation's result tells its span: the bytes it moved, and more attributes. */
export interface StoreOutcome {
  readonly bytes?: number | undefined;
  readonly attributes?: Attributes;
}

type Operation = "load" | "put" | "put_writes";

/**
 * One run's view of its store: each load, checkpoint put and pending-writes
 * put as a `waypoint.checkpoint.*` span with the backend and the round trips,
 * and as the `waypoint.checkpoint.duration` and `.bytes` measurements.
 */
export class CheckpointSpans {
  private readonly backend: string;

  constructor(
    private readonly tracer: Tracer | undefined,
    private readonly instruments: Instruments | undefined,
    checkpointer: Checkpointer,
  ) {
    this.backend = backendOf(checkpointer);
  }

  /**
   * Traces `call` (one store call) under `parent`; `outcome` reads what it
   * returned. The span starts before the call: a store that encodes, or
   * writes, before its promise returns (SQLite's is synchronous) is timed whole.
   */
  trace<T>(
    operation: Operation,
    call: () => Promise<T>,
    parent: Context,
    attributes: Attributes,
    outcome: (result: T) => StoreOutcome,
  ): Promise<T> {
    const started = performance.now();
    const span = this.tracer?.startSpan(
      `waypoint.checkpoint.${operation}`,
      {
        attributes: {
          "waypoint.checkpoint.backend": this.backend,
          "waypoint.checkpoint.round_trips": 1,
          ...attributes,
        },
      },
      parent,
    );
    let pending: Promise<T>;
    try {
      pending = call();
    } catch (error) {
      // A store that throws instead of rejecting: passed on as it threw it.
      // eslint-disable-next-line @typescript-eslint/prefer-promise-reject-errors
      pending = Promise.reject(error);
    }
    return pending.then(
      (result) => {
        const { bytes, attributes: more } = outcome(result);
        if (span !== undefined) {
          if (more !== undefined) span.setAttributes(more);
          if (bytes !== undefined) span.setAttribute("waypoint.checkpoint.bytes", bytes);
          span.end();
        }
        this.measure(operation, started, bytes);
        return result;
      },
      (error: unknown) => {
        if (span !== undefined) failSpan(span, error).end();
        throw error;
      },
    );
  }

  private measure(operation: Operation, started: number, bytes: number | undefined): void {
    if (this.instruments === undefined) return;
    const attributes = {
      "waypoint.checkpoint.backend": this.backend,
      "waypoint.checkpoint.operation": operation,
    };
    this.instruments.checkpointDuration.record((performance.now() - started) / 1000, attributes);
    if (bytes !== undefined) this.instruments.checkpointBytes.record(bytes, attributes);
  }
}
