import { context, metrics, trace } from "@opentelemetry/api";
import { AsyncLocalStorageContextManager } from "@opentelemetry/context-async-hooks";
import { MeterProvider, MetricReader, type ResourceMetrics } from "@opentelemetry/sdk-metrics";
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  SimpleSpanProcessor,
  type ReadableSpan,
} from "@opentelemetry/sdk-trace-base";

/** A reader that exports nothing: a test collects what it wants to see. */
class TestReader extends MetricReader {
  protected override onForceFlush(): Promise<void> {
    return Promise.resolve();
  }
  protected override onShutdown(): Promise<void> {
    return Promise.resolve();
  }
}

/**
 * The OpenTelemetry SDK registered globally as an application would: a tracer
 * provider exporting to memory, a meter provider, and the async-hooks context
 * manager. `uninstall` puts the API back to its no-op state.
 */
export interface TestTelemetry {
  readonly exporter: InMemorySpanExporter;
  spans(): ReadableSpan[];
  /** The sum of a counter's or the count of a histogram's points whose attributes include `where`. */
  metric(name: string, where?: Readonly<Record<string, unknown>>): Promise<number>;
  uninstall(): Promise<void>;
}

export function installTelemetry(options: { contextManager?: boolean } = {}): TestTelemetry {
  const exporter = new InMemorySpanExporter();
  const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
  const reader = new TestReader();
  const meterProvider = new MeterProvider({ readers: [reader] });
  if (options.contextManager !== false)
    context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  trace.setGlobalTracerProvider(provider);
  metrics.setGlobalMeterProvider(meterProvider);
  return {
    exporter,
    spans: () => exporter.getFinishedSpans(),
    metric: async (name, where = {}) => {
      const { resourceMetrics } = await reader.collect();
      return total(resourceMetrics, name, where);
    },
    uninstall: async () => {
      trace.disable();
      metrics.disable();
      context.disable();
      await provider.shutdown();
      await meterProvider.shutdown();
    },
  };
}

function total(
  resourceMetrics: ResourceMetrics,
  name: string,
  where: Readonly<Record<string, unknown>>,
): number {
  let sum = 0;
  for (const scope of resourceMetrics.scopeMetrics)
    for (const metric of scope.metrics) {
      if (metric.descriptor.name !== name) continue;
      for (const point of metric.dataPoints) {
        if (!Object.entries(where).every(([key, value]) => point.attributes[key] === value))
          continue;
        const value = point.value as number | { count: number };
        sum += typeof value === "number" ? value : value.count;
      }
    }
  return sum;
}

/** A span's parent's id (undefined for a root). */
export function parentOf(span: ReadableSpan): string | undefined {
  return span.parentSpanContext?.spanId;
}

/**
 * The spans as an indented tree, children in start order: "name" per line,
 * with `label(span)` appended when given. What a reader of a trace view sees.
 */
export function spanTree(
  spans: readonly ReadableSpan[],
  label: (span: ReadableSpan) => string = () => "",
): string {
  const ids = new Set(spans.map((span) => span.spanContext().spanId));
  const byStart = [...spans].sort(
    (a, b) => a.startTime[0] - b.startTime[0] || a.startTime[1] - b.startTime[1],
  );
  const lines: string[] = [];
  const walk = (parent: string | undefined, depth: number) => {
    for (const span of byStart) {
      const of = parentOf(span);
      if (parent === undefined ? of !== undefined && ids.has(of) : of !== parent) continue;
      lines.push(`${"  ".repeat(depth)}${span.name}${label(span)}`);
      walk(span.spanContext().spanId, depth + 1);
    }
  };
  walk(undefined, 0);
  return lines.join("\n");
}
