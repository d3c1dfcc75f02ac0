import { timingSafeEqual } from "node:crypto";
import type { Context } from "hono";
import { ApiError } from "./api-error.js";

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
