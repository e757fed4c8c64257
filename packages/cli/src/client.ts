import { ApiError, CliError } from "./errors";
import { HTTP_HEADERS } from "@pragma/contracts";

export type AuthMode = "bearer" | "server-key" | "none";

/** Supplies the bearer token lazily, so commands that never call the API never need a login. */
export interface TokenProvider {
  token(): Promise<string>;
  /** Called once after a 401 when the token came from stored credentials; undefined = cannot refresh. */
  refresh?(): Promise<string | undefined>;
}

export interface ClientOptions {
  baseUrl: string;
  fetch: typeof fetch;
  tokens?: TokenProvider;
  serverKey?: string;
  project?: string;
  space?: string;
  /** Per-request deadline; a hung gateway should not hang a script forever. */
  timeoutMs?: number;
}

export interface RequestOptions {
  query?: Record<string, string | string[] | undefined>;
  body?: unknown;
  auth?: AuthMode;
  /** Statuses that are not errors even though >= 400 (e.g. 404 while waiting for a delete). */
  allow?: number[];
}

export interface ApiResponse<T = unknown> {
  status: number;
  headers: Headers;
  body: T;
}

export const LOGIN_HINT = "run `pragma auth login --api-key …` (or pass --token / set PRAGMA_AUTH_TOKEN)";

export class ApiClient {
  constructor(readonly opts: ClientOptions) {}

  get baseUrl(): string {
    return this.opts.baseUrl;
  }

  async request<T = unknown>(method: string, path: string, options: RequestOptions = {}): Promise<ApiResponse<T>> {
    const auth = options.auth ?? "bearer";
    // A FormData body (provider push) sets its own multipart content type.
    let headers = await this.headers(auth, options.body !== undefined && !(options.body instanceof FormData));
    let res = await this.send(method, this.url(path, options.query), headers, options.body);
    if (res.status === 401 && auth === "bearer" && this.opts.tokens?.refresh) {
      // A stored token can die before its expiry (key rotation, server restart with new
      // signing keys); one transparent re-exchange saves the user a manual login.
      const fresh = await this.opts.tokens.refresh();
      if (fresh) {
        headers = { ...headers, authorization: `Bearer ${fresh}` };
        res = await this.send(method, this.url(path, options.query), headers, options.body);
      }
    }
    const body = await readBody(res);
    if (res.status >= 400 && !(options.allow ?? []).includes(res.status)) {
      throw toApiError(res.status, res.headers, body, auth);
    }
    return { status: res.status, headers: res.headers, body: body as T };
  }

  /**
   * Opens a long-lived GET (an event stream): no deadline once it answered, aborted by
   * `signal`. Errors (>= 400) throw like request(); a 401 re-exchanges the token once.
   */
  async stream(path: string, options: { query?: RequestOptions["query"]; headers?: Record<string, string>; signal?: AbortSignal } = {}): Promise<Response> {
    const open = async (headers: Record<string, string>) => {
      try {
        return await this.opts.fetch(this.url(path, options.query), { method: "GET", headers: { ...headers, accept: "text/event-stream", ...options.headers }, signal: options.signal });
      } catch (err) {
        throw connectionError(this.opts.baseUrl, err);
      }
    };
    let headers = await this.headers("bearer", false);
    let res = await open(headers);
    if (res.status === 401 && this.opts.tokens?.refresh) {
      const fresh = await this.opts.tokens.refresh();
      if (fresh) {
        headers = { ...headers, authorization: `Bearer ${fresh}` };
        res = await open(headers);
      }
    }
    if (res.status >= 400) throw toApiError(res.status, res.headers, await readBody(res), "bearer");
    return res;
  }

  url(path: string, query?: RequestOptions["query"]): string {
    const url = new URL(this.opts.baseUrl.replace(/\/+$/, "") + path);
    for (const [key, value] of Object.entries(query ?? {})) {
      if (value === undefined) continue;
      for (const v of Array.isArray(value) ? value : [value]) url.searchParams.append(key, v);
    }
    return url.toString();
  }

  private async headers(auth: AuthMode, hasBody: boolean): Promise<Record<string, string>> {
    const h: Record<string, string> = { accept: "application/json" };
    if (hasBody) h["content-type"] = "application/json";
    if (this.opts.project) h[HTTP_HEADERS.projectId] = this.opts.project;
    if (this.opts.space) h[HTTP_HEADERS.spaceId] = this.opts.space;
    if (auth === "bearer") {
      if (!this.opts.tokens) throw new CliError("not logged in", 1, LOGIN_HINT);
      h.authorization = `Bearer ${await this.opts.tokens.token()}`;
    } else if (auth === "server-key") {
      if (!this.opts.serverKey) {
        throw new CliError("this command needs the system key", 2, "pass --server-key KEY or set PRAGMA_SERVER_KEY");
      }
      h[HTTP_HEADERS.serverKey] = this.opts.serverKey;
    }
    return h;
  }

  private async send(method: string, url: string, headers: Record<string, string>, body: unknown): Promise<Response> {
    try {
      return await this.opts.fetch(url, {
        method,
        headers,
        body: body === undefined ? undefined : body instanceof FormData ? body : JSON.stringify(body),
        signal: AbortSignal.timeout(this.opts.timeoutMs ?? 30_000),
      });
    } catch (err) {
      throw connectionError(this.opts.baseUrl, err);
    }
  }
}

/** A response body as JSON when it is JSON, else its text; undefined when empty. */
export async function readBody(res: Response): Promise<unknown> {
  const text = await res.text();
  if (!text) return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

export function connectionError(baseUrl: string, err: unknown): CliError {
  const e = err as Error & { cause?: { code?: string; message?: string } };
  if (e?.name === "TimeoutError" || e?.name === "AbortError") {
    return new CliError(`the API at ${baseUrl} did not answer in time`, 1, "check that the gateway is up (`curl ${baseUrl}/health`)".replace("${baseUrl}", baseUrl));
  }
  const code = e?.cause?.code ?? e?.cause?.message ?? e?.message ?? String(err);
  return new CliError(
    `cannot reach the API at ${baseUrl} (${code})`,
    1,
    "start the system or point this context at the right URL: `pragma config set-context NAME --api-url URL`",
  );
}

/** Renders pragma's `detail` (a string, a list of {loc,msg,type}, or an object) as readable lines. */
export function formatDetail(detail: unknown): string {
  if (detail === undefined || detail === null) return "";
  if (typeof detail === "string") return detail;
  if (Array.isArray(detail)) {
    return detail
      .map((d) => {
        const item = d as { loc?: unknown[]; msg?: string };
        if (item && typeof item === "object" && "msg" in item) {
          const loc = Array.isArray(item.loc) ? item.loc.join(".") : "";
          return loc ? `${loc}: ${item.msg}` : String(item.msg);
        }
        return JSON.stringify(d);
      })
      .join("\n");
  }
  if (typeof detail === "object") {
    const { message, ...rest } = detail as Record<string, unknown>;
    const lines = typeof message === "string" ? [message] : [];
    for (const [k, v] of Object.entries(rest)) lines.push(`${k}: ${typeof v === "string" ? v : JSON.stringify(v)}`);
    return lines.join("\n");
  }
  return String(detail);
}

export function toApiError(status: number, headers: Headers, body: unknown, auth: AuthMode = "bearer"): ApiError {
  const b = (body && typeof body === "object" ? body : {}) as { detail?: unknown; code?: string; request_id?: string };
  const detail = b.detail ?? (typeof body === "string" && body ? body : undefined);
  const requestId = b.request_id ?? headers.get(HTTP_HEADERS.requestId) ?? undefined;
  const text = formatDetail(detail);
  const head = `${status}${b.code ? ` ${b.code}` : ""}`;
  const message = text.includes("\n") ? `${head}:\n  ${text.split("\n").join("\n  ")}` : `${head}: ${text || "request failed"}`;
  return new ApiError(status, detail, b.code, requestId, message, hintFor(status, text, headers, auth));
}

function hintFor(status: number, detail: string, headers: Headers, auth: AuthMode): string | undefined {
  switch (status) {
    case 401:
      return auth === "server-key" ? "check --server-key / PRAGMA_SERVER_KEY" : LOGIN_HINT;
    case 403:
      return "your API key's role does not allow this; use a key with a higher role (member < operator < admin)";
    case 400:
      if (/X-Project-Id/i.test(detail)) {
        return "pass --project/--space, set PRAGMA_PROJECT_ID, or store them: `pragma config set-context NAME --project prj_… --space spc_…`";
      }
      return undefined;
    case 429: {
      const after = headers.get("retry-after");
      return after ? `retry in ${after}s` : "retry later";
    }
    default:
      return status >= 500 ? "the server failed; quote the request id when reporting it" : undefined;
  }
}
