import { formatDetail, readBody, toApiError } from "@pragma/cli-src/client";
import { ApiError as CliApiError } from "@pragma/cli-src/errors";
import { HTTP_HEADERS } from "@pragma/contracts";

/**
 * The console's only way to the API: same origin, a bearer token from POST /auth/token.
 * The API key and the token live in sessionStorage (gone when the tab closes, never in a
 * URL); the token is exchanged again shortly before it expires and once after a 401.
 */
const STORE = "pragma.console.session";
/** Re-exchange this long before `exp`, so a request never leaves with a token about to die. */
const EARLY_MS = 30_000;

export interface Me {
  user_id: string;
  organization_id: string;
  organization_name?: string;
  role: "admin" | "operator" | "member";
  project_id: string | null;
  space_id: string | null;
}

interface Session {
  apiKey: string;
  token: string;
  expiresAt: number;
  project?: string;
  space?: string;
}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly detail: unknown,
    readonly code: string | undefined,
    readonly requestId: string | undefined,
  ) {
    // The API's own words first: `detail` is what the user must read.
    super(formatDetail(detail) || `request failed (${status})`);
    this.name = "ApiError";
  }
}

function load(): Session | undefined {
  try {
    const raw = sessionStorage.getItem(STORE);
    return raw ? (JSON.parse(raw) as Session) : undefined;
  } catch {
    return undefined;
  }
}

function save(s: Session | undefined): void {
  if (s) sessionStorage.setItem(STORE, JSON.stringify(s));
  else sessionStorage.removeItem(STORE);
}

/** The CLI's reading of an error body ({detail, code, request_id}), worded for a page: the API's words alone. */
function toError(res: Response, body: unknown): ApiError {
  const e = toApiError(res.status, res.headers, body);
  return new ApiError(e.status, e.detail, e.code, e.requestId);
}

async function exchange(apiKey: string): Promise<{ token: string; expiresAt: number }> {
  const res = await fetch("/auth/token", { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ api_key: apiKey }) });
  const body = await readBody(res);
  if (!res.ok) throw toError(res, body);
  const b = body as { access_token: string; expires_in: number };
  return { token: b.access_token, expiresAt: Date.now() + b.expires_in * 1000 };
}

let refreshing: Promise<string> | undefined;

/** The current token, exchanged again (once, shared by concurrent callers) when near expiry or `force`d. */
export async function token(force = false): Promise<string> {
  const s = load();
  if (!s) throw new ApiError(401, "Not logged in", undefined, undefined);
  if (!force && s.expiresAt - EARLY_MS > Date.now()) return s.token;
  refreshing ??= exchange(s.apiKey)
    .then((t) => {
      const now = load();
      if (now) save({ ...now, ...t });
      return t.token;
    })
    .finally(() => {
      refreshing = undefined;
    });
  return refreshing;
}

export async function login(apiKey: string): Promise<Me> {
  const t = await exchange(apiKey.trim());
  save({ apiKey: apiKey.trim(), ...t });
  try {
    return await api<Me>("GET", "/auth/me");
  } catch (err) {
    save(undefined);
    throw err;
  }
}

export function logout(): void {
  save(undefined);
}

export const loggedIn = (): boolean => load() !== undefined;

/** The project and space sent as X-Project-Id / X-Space-Id (empty: the key's own defaults). */
export function tenancy(): { project?: string; space?: string } {
  const s = load();
  return { project: s?.project, space: s?.space };
}

export function setTenancy(project: string | undefined, space: string | undefined): void {
  const s = load();
  if (s) save({ ...s, project: project || undefined, space: space || undefined });
}

export function authHeaders(tok: string): Record<string, string> {
  const t = tenancy();
  return {
    authorization: `Bearer ${tok}`,
    ...(t.project ? { [HTTP_HEADERS.projectId]: t.project } : {}),
    ...(t.space ? { [HTTP_HEADERS.spaceId]: t.space } : {}),
  };
}

export type Query = Record<string, string | string[] | boolean | number | undefined>;

export function withQuery(path: string, query?: Query): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(query ?? {})) {
    if (v === undefined || v === "" || v === false) continue;
    for (const one of Array.isArray(v) ? v : [v]) q.append(k, String(one));
  }
  const s = q.toString();
  return s ? `${path}?${s}` : path;
}

export interface Answer<T> {
  status: number;
  body: T;
  headers: Headers;
}

/** One call with the bearer token; a 401 exchanges the key again and retries once. */
export async function call<T>(method: string, path: string, opts: { query?: Query; body?: unknown } = {}): Promise<Answer<T>> {
  const url = withQuery(path, opts.query);
  const send = async (tok: string) =>
    fetch(url, {
      method,
      headers: { ...authHeaders(tok), ...(opts.body !== undefined ? { "content-type": "application/json" } : {}) },
      ...(opts.body !== undefined ? { body: JSON.stringify(opts.body) } : {}),
    });
  let res = await send(await token());
  if (res.status === 401) res = await send(await token(true));
  const body = await readBody(res);
  if (!res.ok) throw toError(res, body);
  return { status: res.status, body: body as T, headers: res.headers };
}

/**
 * Opens a long-lived GET (the watch's event stream) with the session's token, exchanged
 * again once after a 401; errors throw as ApiError. The CLI's watchResources reads it.
 */
export async function openStream(path: string, opts: { query?: Query; headers?: Record<string, string>; signal?: AbortSignal } = {}): Promise<Response> {
  const send = async (tok: string) => fetch(withQuery(path, opts.query), { headers: { ...authHeaders(tok), accept: "text/event-stream", ...opts.headers }, signal: opts.signal });
  let res = await send(await token());
  if (res.status === 401) res = await send(await token(true));
  if (!res.ok) throw toError(res, await readBody(res));
  return res;
}

/** A text/plain answer (a build log), as sent: never parsed as JSON. */
export async function apiText(path: string): Promise<string> {
  const send = async (tok: string) => fetch(path, { headers: authHeaders(tok) });
  let res = await send(await token());
  if (res.status === 401) res = await send(await token(true));
  if (!res.ok) throw toError(res, await readBody(res));
  return res.text();
}

/**
 * call() in the shape of the CLI's ApiClient.request, for the CLI functions the console runs
 * (applyResources): errors throw as the CLI's ApiError, worded as the console words them.
 */
export async function sessionRequest<T = unknown>(method: string, path: string, opts: { query?: Query; body?: unknown; allow?: number[] } = {}): Promise<Answer<T>> {
  try {
    return await call<T>(method, path, opts);
  } catch (err) {
    if (!(err instanceof ApiError)) throw err;
    if (opts.allow?.includes(err.status)) return { status: err.status, body: err.detail as T, headers: new Headers() };
    throw new CliApiError(err.status, err.detail, err.code, err.requestId, err.message);
  }
}

export async function api<T>(method: string, path: string, opts: { query?: Query; body?: unknown } = {}): Promise<T> {
  return (await call<T>(method, path, opts)).body;
}

export const errorText = (err: unknown): string => (err instanceof Error ? err.message : String(err));
