import { useEffect, useState } from "react";

/** The console's base path (Vite's `base`); every page lives below it. */
export const BASE = "/console/";

/** Path under the base and the query, e.g. { path: "resources", query: URLSearchParams }. */
export interface Location {
  path: string;
  query: URLSearchParams;
}

function current(): Location {
  const p = window.location.pathname.startsWith(BASE) ? window.location.pathname.slice(BASE.length) : "";
  return { path: decodeURIComponent(p.replace(/\/+$/, "")), query: new URLSearchParams(window.location.search) };
}

const listeners = new Set<() => void>();
window.addEventListener("popstate", () => listeners.forEach((l) => l()));

export function href(path: string, query?: Record<string, string | undefined>): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(query ?? {})) if (v) q.set(k, v);
  const s = q.toString();
  return `${BASE}${path.split("/").map(encodeURIComponent).join("/")}${s ? `?${s}` : ""}`;
}

export function navigate(to: string, replace = false): void {
  if (replace) window.history.replaceState(null, "", to);
  else window.history.pushState(null, "", to);
  listeners.forEach((l) => l());
}

export function useLocation(): Location {
  const [loc, setLoc] = useState(current);
  useEffect(() => {
    const l = () => setLoc(current());
    listeners.add(l);
    return () => {
      listeners.delete(l);
    };
  }, []);
  return loc;
}
