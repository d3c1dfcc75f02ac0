import { timingSafeEqual } from "node:crypto";
import type { Context } from "hono";
import { ApiError, invalid } from "./api-error.js";

/**
 * Every request that writes passes here first. Read-only mode refuses it;
 * otherwise it must come from the page's own origin (a browser always sends
 * Origin on a POST, so another site's form or fetch is refused) and carry the
 * token printed at start-up, as a header or a form field.
 */
export function checkWrite(
  c: Context,
  options: { readonly readOnly: boolean; readonly token: string | undefined },
  formToken: string | undefined,
): void {
  if (options.readOnly) {
    throw new ApiError(403, "READ_ONLY", "The inspector is read-only: it makes no changes.");
  }
  const origin = c.req.header("origin");
  const own = new URL(c.req.url);
  const host = c.req.header("host") ?? own.host;
  if (origin !== undefined && origin !== `${own.protocol}//${host}`) {
    throw new ApiError(
      403,
      "ORIGIN_REFUSED",
      `Writes from another origin (${origin}) are refused.`,
    );
  }
  if (c.req.header("sec-fetch-site") === "cross-site") {
    throw new ApiError(403, "ORIGIN_REFUSED", "Writes from another site are refused.");
  }
  const bearer = /^Bearer (.+)$/i.exec(c.req.header("authorization") ?? "")?.[1];
  const given = c.req.header("x-waypoint-token") ?? bearer ?? formToken;
  if (options.token === undefined || given === undefined || !same(given, options.token)) {
    throw new ApiError(
      401,
      "TOKEN_REQUIRED",
      given === undefined
        ? "This action needs the token printed when the inspector started (header X-Waypoint-Token)."
        : "The token does not match the one printed when the inspector started.",
    );
  }
}

function same(a: string, b: string): boolean {
  const left = Buffer.from(a);
  const right = Buffer.from(b);
  return left.length === right.length && timingSafeEqual(left, right);
}

/** The write's body, after checkWrite: a JSON object, or form fields (JSON in `value` and `values`). */
export async function readWrite(
  c: Context,
  options: { readonly readOnly: boolean; readonly token: string | undefined },
): Promise<Record<string, unknown>> {
  const type = c.req.header("content-type") ?? "";
  if (
    type.startsWith("application/x-www-form-urlencoded") ||
    type.startsWith("multipart/form-data")
  ) {
    const form = await c.req.parseBody();
    checkWrite(c, options, typeof form.token === "string" ? form.token : undefined);
    const body: Record<string, unknown> = {};
    for (const [key, value] of Object.entries(form)) {
      if (key !== "token" && typeof value === "string") body[key] = parseJsonField(key, value);
    }
    return body;
  }
  checkWrite(c, options, undefined);
  const text = await c.req.text();
  if (text.trim() === "") return {};
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    throw invalid("the request body is not valid JSON");
  }
  if (body === null || typeof body !== "object" || Array.isArray(body)) {
    throw invalid("the request body must be a JSON object");
  }
  return body as Record<string, unknown>;
}

function parseJsonField(key: string, value: string): unknown {
  if (key !== "value" && key !== "values") return value;
  try {
    return JSON.parse(value) as unknown;
  } catch {
    throw invalid(`${key} is not valid JSON`);
  }
}

/**
 * On loopback, only requests that name a loopback host: a site whose domain
 * resolves to 127.0.0.1 (DNS rebinding) sends its own name as Host.
 */
export function checkHost(host: string = "", allowedHosts: readonly string[] | undefined): void {
  if (allowedHosts === undefined) return;
  const name = host.startsWith("[") ? host.slice(0, host.indexOf("]") + 1) : host.split(":")[0]!;
  if (!allowedHosts.includes(name.toLowerCase())) {
    throw new ApiError(403, "ORIGIN_REFUSED", `Requests for host "${host}" are refused.`);
  }
}
