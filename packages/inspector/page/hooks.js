/* global setInterval, clearInterval */
import { useEffect, useState, useCallback } from "/vendor/preact-htm.js";
import { getJson } from "./api.js";

/**
 * Loads `path` and reloads it every `pollMs` (0: once), so the page follows
 * runs as they progress. `reload` fetches at once (after an action).
 */
export function useApi(path, query = {}, pollMs = 0) {
  const [state, setState] = useState({ data: undefined, error: undefined });
  const key = path + JSON.stringify(query);
  const load = useCallback(() => {
    if (!path) return;
    getJson(path, query).then(
      (data) => setState({ data, error: undefined }),
      (error) => setState((old) => ({ data: old.data, error })),
    );
  }, [key]);
  useEffect(() => {
    // The old data stays until the new arrives: a refresh after an action must not unmount the view.
    load();
    if (!pollMs) return undefined;
    const timer = setInterval(load, pollMs);
    return () => clearInterval(timer);
  }, [key, pollMs]);
  return { ...state, reload: load };
}

export const relativeTime = (iso) => {
  const seconds = Math.round((Date.now() - new Date(iso).getTime()) / 1000);
  if (seconds < 60) return `${Math.max(seconds, 0)}s ago`;
  if (seconds < 3600) return `${Math.round(seconds / 60)} min ago`;
  if (seconds < 86400) return `${Math.round(seconds / 3600)} h ago`;
  return `${Math.round(seconds / 86400)} d ago`;
};

export const bytes = (n) =>
  n === null || n === undefined ? "" : n < 1024 ? `${n} B` : `${(n / 1024).toFixed(1)} KB`;
