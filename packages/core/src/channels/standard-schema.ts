/**
 * A local copy of the Standard Schema v1 interface (https://standardschema.dev),
 * so that zod 3.24+, valibot and arktype schemas can validate channel writes
 * without core depending on any of them. The spec's namespace is flattened into
 * prefixed names because our lint rules forbid namespaces; the shapes are the
 * same, so any conforming schema is assignable.
 */
export interface StandardSchemaV1<Input = unknown, Output = Input> {
  readonly "~standard": StandardSchemaV1Props<Input, Output>;
}

/** What a Standard Schema carries under its `~standard` key. */
export interface StandardSchemaV1Props<Input = unknown, Output = Input> {
  readonly version: 1;
  readonly vendor: string;
  /** Checks a value: its (possibly converted) value, or the issues found. */
  readonly validate: (
    value: unknown,
  ) => StandardSchemaV1Result<Output> | Promise<StandardSchemaV1Result<Output>>;
  readonly types?: StandardSchemaV1Types<Input, Output> | undefined;
}

/** What `validate` returns: the value, or the issues that make it invalid. */
export type StandardSchemaV1Result<Output> =
  StandardSchemaV1SuccessResult<Output> | StandardSchemaV1FailureResult;

/** A valid value, as the schema outputs it. */
export interface StandardSchemaV1SuccessResult<Output> {
  readonly value: Output;
  readonly issues?: undefined;
}

/** An invalid value: one issue or more. */
export interface StandardSchemaV1FailureResult {
  readonly issues: readonly StandardSchemaV1Issue[];
}

/** One problem with a value: a message, and where in the value it is. */
export interface StandardSchemaV1Issue {
  readonly message: string;
  readonly path?: readonly (PropertyKey | StandardSchemaV1PathSegment)[] | undefined;
}

/** One step of an issue's path, as a segment object rather than a bare key. */
export interface StandardSchemaV1PathSegment {
  readonly key: PropertyKey;
}

/** Phantom types for inference only; schemas never need to set them at run time. */
export interface StandardSchemaV1Types<Input = unknown, Output = Input> {
  readonly input: Input;
  readonly output: Output;
}

/**
 * Runs `schema` on `value` and returns its output, or throws an Error listing
 * every issue. Channel writes are applied synchronously inside a commit, so a
 * schema that validates asynchronously is rejected rather than awaited.
 */
export function validateWith<Output>(
  schema: StandardSchemaV1<unknown, Output>,
  value: unknown,
): Output {
  const standard = schema["~standard"];
  const result = standard.validate(value);
  if (isPromiseLike(result)) {
    // Don't leave the schema's promise to reject unobserved.
    void Promise.resolve(result).catch(() => undefined);
    throw new Error(
      `the ${standard.vendor} schema validated asynchronously; channel writes need a synchronous schema`,
    );
  }
  if (result.issues !== undefined) {
    throw new Error(`invalid value: ${result.issues.map(formatIssue).join("; ")}`);
  }
  return result.value;
}

function formatIssue(issue: StandardSchemaV1Issue): string {
  if (issue.path === undefined || issue.path.length === 0) return issue.message;
  const path = issue.path
    .map((segment) => String(typeof segment === "object" ? segment.key : segment))
    .join(".");
  return `${path}: ${issue.message}`;
}

function isPromiseLike(value: unknown): value is PromiseLike<unknown> {
  return (
    typeof value === "object" &&
    value !== null &&
    typeof (value as { then?: unknown }).then === "function"
  );
}
