import { serializeError } from "@waypoint/checkpoint";

/** Colours for a terminal; plain text everywhere else. */
export interface Paint {
  readonly dim: (text: string) => string;
  readonly bold: (text: string) => string;
  readonly red: (text: string) => string;
  readonly green: (text: string) => string;
  readonly yellow: (text: string) => string;
  readonly cyan: (text: string) => string;
}

const sgr = (open: number, close: number) => (text: string) =>
  text === "" ? text : `\u001b[${open}m${text}\u001b[${close}m`;

export function paintFor(isTTY: boolean): Paint {
  if (!isTTY) {
    const plain = (text: string) => text;
    return { dim: plain, bold: plain, red: plain, green: plain, yellow: plain, cyan: plain };
  }
  return {
    dim: sgr(2, 22),
    bold: sgr(1, 22),
    red: sgr(31, 39),
    green: sgr(32, 39),
    yellow: sgr(33, 39),
    cyan: sgr(36, 39),
  };
}

/** Thread and run statuses in the colour of what they ask of the reader. */
export function paintStatus(paint: Paint, status: string): string {
  switch (status) {
    case "finished":
    case "succeeded":
      return paint.green(status);
    case "failed":
      return paint.red(status);
    case "interrupted":
    case "paused":
    case "cancelled":
      return paint.yellow(status);
    default:
      return paint.cyan(status);
  }
}

// eslint-disable-next-line no-control-regex
const ANSI = /\u001b\[[0-9;]*m/g;
const width = (text: string) => text.replace(ANSI, "").length;

/** Columns padded to their widest cell; the last column is not padded. */
export function table(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const all = [header, ...rows];
  const widths = header.map((_, column) => Math.max(...all.map((row) => width(row[column] ?? ""))));
  return all
    .map((row) =>
      row
        .map((cell, column) =>
          column === row.length - 1 ? cell : cell + " ".repeat(widths[column]! - width(cell)),
        )
        .join("  ")
        .trimEnd(),
    )
    .join("\n");
}

/** "12 s ago", "3 min ago", "5 h ago", "2 d ago"; "in 4 min" for a time ahead (a lease). */
export function relativeTime(date: Date, now: number = Date.now()): string {
  const seconds = Math.round((now - date.getTime()) / 1000);
  const ahead = seconds < 0;
  const s = Math.abs(seconds);
  const amount =
    s < 60
      ? `${s} s`
      : s < 3600
        ? `${Math.floor(s / 60)} min`
        : s < 86_400
          ? `${Math.floor(s / 3600)} h`
          : `${Math.floor(s / 86_400)} d`;
  if (s < 1) return "just now";
  return ahead ? `in ${amount}` : `${amount} ago`;
}

/**
 * A stored value as plain JSON: the serializer revives Dates, Maps, Sets,
 * BigInts and errors, which JSON.stringify would drop or refuse.
 */
export function toJson(value: unknown): unknown {
  if (value === undefined) return null;
  if (typeof value === "bigint") return `${value}n`;
  if (value instanceof Date) return value.toISOString();
  if (value instanceof Error) return serializeError(value);
  if (value instanceof Map) return [...value].map(([k, v]) => [toJson(k), toJson(v)]);
  if (value instanceof Set) return [...value].map(toJson);
  if (Array.isArray(value)) return value.map(toJson);
  if (value !== null && typeof value === "object") {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, toJson(v)]));
  }
  return value;
}

/** One line of a value for a table cell, cut at `max` characters. */
export function preview(value: unknown, max = 60): string {
  const text = typeof value === "string" ? JSON.stringify(value) : JSON.stringify(toJson(value));
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}
