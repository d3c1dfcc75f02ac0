/* global location, history, sessionStorage, fetch, URLSearchParams */
/**
 * The page's side of the JSON API. The token comes once in the URL
 * (`?token=…`, as printed at start-up), moves to sessionStorage and leaves
 * the address bar, so it is not kept in history or shared with a link.
 */
const KEY = "waypoint-inspector-token";
const params = new URLSearchParams(location.search);
const fromUrl = params.get("token");
if (fromUrl) {
  sessionStorage.setItem(KEY, fromUrl);
  params.delete("token");
  const rest = params.toString();
  history.replaceState(null, "", location.pathname + (rest ? `?${rest}` : "") + location.hash);
}

export const hasToken = () => sessionStorage.getItem(KEY) !== null;

export class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

async function parse(response) {
  const body = await response.json().catch(() => ({}));
  if (!response.ok) {
    const error = body.error ?? {};
    throw new ApiError(
      response.status,
      error.code ?? "HTTP_" + response.status,
      error.message ?? response.statusText,
    );
  }
  return body;
}

export async function getJson(path, query = {}) {
  const search = new URLSearchParams(
    Object.entries(query).filter(
      ([, value]) => value !== undefined && value !== null && value !== "",
    ),
  ).toString();
  return parse(await fetch(`/api${path}${search ? `?${search}` : ""}`));
}

export async function postJson(path, body = {}) {
  const token = sessionStorage.getItem(KEY);
  return parse(
    await fetch(`/api${path}`, {
      method: "POST",
      headers: {
        "content-type": "application/json",
        ...(token ? { "x-waypoint-token": token } : {}),
      },
      body: JSON.stringify(body),
    }),
  );
}

export const enc = encodeURIComponent;
