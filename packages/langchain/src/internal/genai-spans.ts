import {
  SpanKind,
  SpanStatusCode,
  context,
  trace,
  type Attributes,
  type Span,
} from "@opentelemetry/api";

const SCOPE = "@waypoint/langchain";

/**
 * A GenAI span under the span that is current, if that one records (the
 * node's task span in a traced run); undefined otherwise, so that with no
 * OpenTelemetry SDK, or outside a traced run, nothing is made.
 */
export function startGenAISpan(name: string, attributes: Attributes): Span | undefined {
  const parent = trace.getSpan(context.active());
  if (parent === undefined || !parent.isRecording()) return undefined;
  return trace.getTracer(SCOPE).startSpan(name, { kind: SpanKind.INTERNAL, attributes });
}

/** Runs `call` in the span's context (none: as it is), ending the span with its outcome. */
export async function inSpan<T>(
  span: Span | undefined,
  call: () => Promise<T>,
  outcome: (result: T, span: Span) => void = () => undefined,
): Promise<T> {
  if (span === undefined) return call();
  try {
    const result = await context.with(trace.setSpan(context.active(), span), call);
    outcome(result, span);
    return result;
  } catch (error) {
    failSpan(span, error);
    throw error;
  } finally {
    span.end();
  }
}

/** ERROR status, `error.type`, and the exception recorded. */
export function failSpan(span: Span, error: unknown, type?: string): void {
  const message = error instanceof Error ? error.message : String(error);
  span.setStatus({ code: SpanStatusCode.ERROR, message });
  span.setAttribute("error.type", type ?? (error instanceof Error ? error.name : "_OTHER"));
  if (error instanceof Error) span.recordException(error);
}
