import { ApiClient, LOGIN_HINT, type TokenProvider } from "./client";
import { ConfigStore, configDir, type Context, type StoredCredentials } from "./config-store";
import { CliError, UsageError } from "./errors";
import type { Io } from "./io";

/** Options every command inherits from the program (see cli.ts). */
export interface GlobalOptions {
  apiUrl?: string;
  context?: string;
  token?: string;
  project?: string;
  space?: string;
  serverKey?: string;
  output?: string;
  progress?: boolean;
}

/** A stored token is treated as expired this long before its real expiry, so it never dies mid-request. */
export const EXPIRY_SKEW_MS = 30_000;

export type TokenChoice =
  | { source: "flag" | "env" | "stored"; token: string }
  | { source: "exchange"; apiKey: string }
  | { source: "none" };

/**
 * Token precedence: --token, then PRAGMA_AUTH_TOKEN, then the current context's stored
 * token while it is fresh, then a transparent re-exchange of the stored API key.
 */
export function chooseToken(
  flag: string | undefined,
  env: Record<string, string | undefined>,
  stored: StoredCredentials | undefined,
  now: number,
): TokenChoice {
  if (flag) return { source: "flag", token: flag };
  if (env.PRAGMA_AUTH_TOKEN) return { source: "env", token: env.PRAGMA_AUTH_TOKEN };
  if (stored?.access_token && stored.expires_at && Date.parse(stored.expires_at) - EXPIRY_SKEW_MS > now) {
    return { source: "stored", token: stored.access_token };
  }
  if (stored?.api_key) return { source: "exchange", apiKey: stored.api_key };
  return { source: "none" };
}

/** Flag, then environment, then context: the closer to the command line, the stronger. */
export function chooseScope(
  opts: Pick<GlobalOptions, "project" | "space">,
  env: Record<string, string | undefined>,
  context: Context | undefined,
): { project?: string; space?: string } {
  return {
    project: opts.project ?? env.PRAGMA_PROJECT_ID ?? context?.project,
    space: opts.space ?? env.PRAGMA_SPACE_ID ?? context?.space,
  };
}

export interface TokenResponseBody {
  access_token: string;
  token_type: string;
  expires_in: number;
}

export class Session {
  readonly store: ConfigStore;

  constructor(
    readonly io: Io,
    readonly opts: GlobalOptions,
  ) {
    this.store = new ConfigStore(configDir(io.env, io.homedir()));
  }

  contextName(): string | undefined {
    return this.opts.context ?? this.io.env.PRAGMA_CONTEXT ?? this.store.readConfig().current_context;
  }

  context(): Context | undefined {
    const name = this.contextName();
    if (!name) return undefined;
    const ctx = this.store.readConfig().contexts[name];
    if (!ctx && (this.opts.context || this.io.env.PRAGMA_CONTEXT)) {
      throw new UsageError(`no context named "${name}"`, "list them with `pragma config get-contexts`");
    }
    return ctx;
  }

  apiUrl(): string {
    const url = this.opts.apiUrl ?? this.io.env.PRAGMA_API_URL ?? this.context()?.api_url;
    if (!url) {
      throw new UsageError(
        "no API URL configured",
        "create a context: `pragma config set-context local --api-url http://localhost:8080` (or pass --api-url)",
      );
    }
    return url;
  }

  serverKey(): string | undefined {
    return this.opts.serverKey ?? this.io.env.PRAGMA_SERVER_KEY;
  }

  /** A client for the API; scope headers are omitted for the System API, which takes the org in the path. */
  client(options: { scoped?: boolean } = {}): ApiClient {
    const scope = options.scoped === false ? {} : chooseScope(this.opts, this.io.env, this.context());
    return new ApiClient({
      baseUrl: this.apiUrl(),
      fetch: this.io.fetch,
      tokens: this.tokenProvider(),
      serverKey: this.serverKey(),
      project: scope.project,
      space: scope.space,
    });
  }

  /** Exchanges an API key for a token and stores both under the current context. */
  async login(apiKey: string): Promise<TokenResponseBody> {
    const name = this.contextName();
    if (!name) throw new UsageError("no current context", "create one: `pragma config set-context NAME --api-url URL`");
    const client = new ApiClient({ baseUrl: this.apiUrl(), fetch: this.io.fetch });
    const res = await client.request<TokenResponseBody>("POST", "/auth/token", { auth: "none", body: { api_key: apiKey } });
    this.store.saveCredentials(name, {
      api_key: apiKey,
      access_token: res.body.access_token,
      expires_at: new Date(this.io.now() + res.body.expires_in * 1000).toISOString(),
    });
    return res.body;
  }

  /**
   * The context whose stored key and token may be used: none when --api-url or
   * PRAGMA_API_URL points elsewhere, because a credential must only ever go to the
   * server it was issued by.
   */
  private storedCredentialsContext(): string | undefined {
    const name = this.contextName();
    const ctx = this.context();
    if (!name || !ctx) return undefined;
    return sameUrl(this.apiUrl(), ctx.api_url) ? name : undefined;
  }

  private tokenProvider(): TokenProvider {
    let cached: string | undefined;
    let fromStore = false;
    return {
      token: async () => {
        if (cached) return cached;
        const name = this.storedCredentialsContext();
        const stored = name ? this.store.credentialsFor(name) : undefined;
        const choice = chooseToken(this.opts.token, this.io.env, stored, this.io.now());
        switch (choice.source) {
          case "flag":
          case "env":
            cached = choice.token;
            break;
          case "stored":
            fromStore = true;
            cached = choice.token;
            break;
          case "exchange":
            fromStore = true;
            cached = (await this.login(choice.apiKey)).access_token;
            break;
          case "none":
            throw new CliError(name ? `not logged in to context "${name}"` : "not logged in", 1, LOGIN_HINT);
        }
        return cached;
      },
      refresh: async () => {
        if (!fromStore) return undefined;
        const name = this.storedCredentialsContext();
        const apiKey = name ? this.store.credentialsFor(name)?.api_key : undefined;
        if (!apiKey) return undefined;
        cached = (await this.login(apiKey)).access_token;
        return cached;
      },
    };
  }
}

export function sameUrl(a: string, b: string): boolean {
  const norm = (u: string) => {
    try {
      return new URL(u).toString().replace(/\/+$/, "");
    } catch {
      return u.replace(/\/+$/, "");
    }
  };
  return norm(a) === norm(b);
}
