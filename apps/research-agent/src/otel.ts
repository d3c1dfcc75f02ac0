/**
 * `pnpm demo --otel`: the OpenTelemetry SDK registered the way any Waypoint
 * application adds a trace exporter. Waypoint depends on `@opentelemetry/api`
 * only; the application registers a tracer provider with its exporter (here
 * the SDK's console exporter; in production an OTLP exporter) and a context
 * manager, before it runs a graph. Nothing else changes.
 */
import { SpanStatusCode, context, trace } from "@opentelemetry/api";
import { AsyncLocalStorageContextManager } from "@opentelemetry/context-async-hooks";
import {
  BasicTracerProvider,
  ConsoleSpanExporter,
  SimpleSpanProcessor,
  type ReadableSpan,
  type SpanExporter,
} from "@opentelemetry/sdk-trace-base";

export interface Tracing {
  /** Ends tracing and prints what was traced, as a tree. */
  shutdown(): Promise<void>;
}

export function startTracing(): Tracing {
  const exporter = new SpanTreeExporter();
  const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  trace.setGlobalTracerProvider(provider);
  return { shutdown: () => provider.shutdown() };
}

/**
 * The SDK's console exporter, printing the run as a tree when tracing ends
 * rather than one object per span: a span per line, indented under its
 * parent, with its duration and the attributes that say what it did.
 * Siblings of the same name in a row (60 fetches) are folded into one line.
 */
class SpanTreeExporter extends ConsoleSpanExporter implements SpanExporter {
  private readonly spans: ReadableSpan[] = [];

  override export(spans: ReadableSpan[], done: Parameters<SpanExporter["export"]>[1]): void {
    this.spans.push(...spans);
    done({ code: 0 });
  }

  override shutdown(): Promise<void> {
    console.log(`\nOpenTelemetry spans (${this.spans.length}):`);
    for (const line of treeLines(this.spans)) console.log(line);
    return super.shutdown();
  }
}

const SHOWN = [
  "gen_ai.conversation.id",
  "waypoint.resumed",
  "waypoint.step",
  "waypoint.task.count",
  "waypoint.checkpoint.backend",
  "waypoint.checkpoint.bytes",
  "waypoint.effect.outcome",
  "gen_ai.request.model",
];

function treeLines(spans: readonly ReadableSpan[]): string[] {
  const children = new Map<string | undefined, ReadableSpan[]>();
  const ids = new Set(spans.map((span) => span.spanContext().spanId));
  for (const span of spans) {
    const parent = span.parentSpanContext?.spanId;
    const key = parent !== undefined && ids.has(parent) ? parent : undefined;
    children.set(key, [...(children.get(key) ?? []), span]);
  }
  const lines: string[] = [];
  const walk = (parent: string | undefined, depth: number) => {
    const list = [...(children.get(parent) ?? [])].sort(
      (a, b) => ms(a.startTime) - ms(b.startTime),
    );
    for (let i = 0; i < list.length;) {
      const span = list[i]!;
      let j = i + 1;
      while (
        j < list.length &&
        list[j]!.name === span.name &&
        !children.has(list[j]!.spanContext().spanId)
      )
        j += 1;
      const folded = list.slice(i, j);
      const indent = "  ".repeat(depth);
      if (folded.length > 2 && !children.has(span.spanContext().spanId)) {
        const total = folded.reduce((sum, s) => sum + ms(s.duration), 0);
        lines.push(`${indent}${span.name} ×${folded.length}  ${total.toFixed(1)} ms in all`);
        i = j;
        continue;
      }
      const shown = SHOWN.filter((key) => span.attributes[key] !== undefined).map(
        (key) => `${key.replace(/^(waypoint|gen_ai)\./, "")}=${String(span.attributes[key])}`,
      );
      const links = span.links.length > 0 ? ` links→${span.links[0]!.context.spanId}` : "";
      const status =
        (span.status.code as number) === (SpanStatusCode.ERROR as number) ? " ERROR" : "";
      lines.push(
        `${indent}${span.name}  ${ms(span.duration).toFixed(1)} ms${status}${shown.length > 0 ? `  ${shown.join(" ")}` : ""}${links}`,
      );
      walk(span.spanContext().spanId, depth + 1);
      i += 1;
    }
  };
  walk(undefined, 0);
  return lines;
}

function ms([seconds, nanos]: readonly [number, number]): number {
  return seconds * 1000 + nanos / 1e6;
}
