import {
  ProxyTracerProvider,
  createNoopMeter,
  metrics,
  trace,
  type Meter,
  type Tracer,
  type TracerProvider,
} from "@opentelemetry/api";

/** The name Waypoint's tracer and meter are registered under. */
export const INSTRUMENTATION_SCOPE = "@waypoint/core";

/** What an unset global tracer provider hands out: OpenTelemetry's no-op provider. */
const NOOP_TRACER_PROVIDER: TracerProvider = new ProxyTracerProvider().getDelegate();
const NOOP_METER: Meter = createNoopMeter();

let tracerProvider: TracerProvider = NOOP_TRACER_PROVIDER;
let tracer: Tracer | undefined;
let meterProvider: object | undefined;
let meter: Meter | undefined;

/**
 * The tracer of the SDK registered now, or undefined when none is (the
 * API's no-op provider). Looked up once per run, never per superstep: a
 * global read and an identity check. The tracer is cached per provider, so an
 * SDK registered or replaced later is picked up by the next run.
 */
export function activeTracer(): Tracer | undefined {
  const global = trace.getTracerProvider();
  const provider = global instanceof ProxyTracerProvider ? global.getDelegate() : global;
  if (provider !== tracerProvider) {
    tracerProvider = provider;
    tracer =
      provider === NOOP_TRACER_PROVIDER ? undefined : provider.getTracer(INSTRUMENTATION_SCOPE);
  }
  return tracer;
}

/**
 * The meter of the SDK registered now, or undefined when none is. The
 * metrics API has no proxy: a meter taken before the SDK registers stays a
 * no-op forever, so it is looked up again whenever the global provider changes.
 */
export function activeMeter(): Meter | undefined {
  const provider = metrics.getMeterProvider();
  if (provider !== meterProvider) {
    meterProvider = provider;
    const found = provider.getMeter(INSTRUMENTATION_SCOPE);
    meter = found === NOOP_METER ? undefined : found;
  }
  return meter;
}
