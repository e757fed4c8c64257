import { z } from "zod";

export { z };

/**
 * Parses a service's config schema once. On failure every problem is printed and
 * the process exits 1 before any port is opened (house rule); tests pass
 * `onError: "throw"` to assert on the message instead.
 */
export function loadConfig<S extends z.ZodType>(
  schema: S,
  env: Record<string, string | undefined> = process.env,
  options: { onError?: "exit" | "throw" } = {},
): z.infer<S> {
  const result = schema.safeParse(env);
  if (result.success) return result.data;
  const lines = result.error.issues.map((i) => `  ${i.path.join(".") || "(root)"}: ${i.message}`);
  const message = `invalid configuration:\n${lines.join("\n")}`;
  if (options.onError === "throw") throw new Error(message);
  process.stderr.write(`${message}\n`);
  process.exit(1);
}

/** `PROVIDER_FINALIZE_MS` → `providerFinalizeMs`, as the types see it. */
export type CamelCase<S extends string> = S extends `${infer H}_${infer T}` ? `${Lowercase<H>}${Capitalize<CamelCase<T>>}` : Lowercase<S>;
export type CamelKeys<T> = { [K in keyof T as K extends string ? CamelCase<K> : K]: T[K] };

/**
 * The one casing of every service's config: the environment's UPPER_SNAKE names are read by
 * the schema, and the service sees them in camelCase (`config.databaseUrl`), in all four.
 */
export function camelKeys<T extends Record<string, unknown>>(env: T): CamelKeys<T> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(env)) out[k.toLowerCase().replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase())] = v;
  return out as CamelKeys<T>;
}

/** Shared fragments: infra is always given as URLs with local defaults. */
export const common = {
  NODE_ENV: z.enum(["development", "production", "test"]).default("development"),
  LOG_LEVEL: z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]).default("info"),
  /**
   * One broker URL, or several comma-separated (the nodes of one RabbitMQ cluster): a
   * connection goes to one of them and moves to the next when it fails (@pragma/messaging).
   */
  AMQP_URL: z
    .string()
    .default("amqp://guest:guest@127.0.0.1:5672")
    .superRefine((v, ctx) => {
      const urls = splitUrls(v);
      if (urls.length === 0) ctx.addIssue({ code: "custom", message: "expected an amqp:// URL or a comma-separated list of them" });
      for (const u of urls) {
        const why = amqpUrlProblem(u);
        if (why) ctx.addIssue({ code: "custom", message: `${why}: ${redactUrl(u)}` });
      }
    }),
  DATABASE_URL: z.string().url().default("postgresql://postgres@127.0.0.1:5432/pragma"),
  REDIS_URL: z.string().url().default("redis://127.0.0.1:6379"),
};

/** "a, b,,c" → ["a", "b", "c"]: how every list-valued URL variable (AMQP_URL) is split. */
export function splitUrls(value: string): string[] {
  return value
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean);
}

function amqpUrlProblem(u: string): string | undefined {
  let parsed: URL;
  try {
    parsed = new URL(u);
  } catch {
    return "not a URL";
  }
  if (parsed.protocol !== "amqp:" && parsed.protocol !== "amqps:") return `expected amqp:// or amqps://, got ${parsed.protocol}//`;
  return undefined;
}

/** A URL with its password replaced, for messages (config errors are printed). */
function redactUrl(u: string): string {
  return u.replace(/\/\/([^:/@]*):[^@/]*@/, "//$1:***@");
}

/** Integer from an env string, with bounds. */
export const int = (def: number, min = 0, max = Number.MAX_SAFE_INTEGER) =>
  z.coerce.number().int().min(min).max(max).default(def);

/** Booleans as env strings: true/false/1/0/yes/no. */
export const bool = (def: boolean) =>
  z
    .union([z.boolean(), z.string()])
    .default(def)
    .transform((v, ctx) => {
      if (typeof v === "boolean") return v;
      const s = v.trim().toLowerCase();
      if (["1", "true", "yes", "on"].includes(s)) return true;
      if (["0", "false", "no", "off", ""].includes(s)) return false;
      ctx.addIssue({ code: "custom", message: `expected a boolean, got "${v}"` });
      return z.NEVER;
    });

/** Comma-separated list. */
export const list = (def: string[] = []) =>
  z
    .string()
    .optional()
    .transform((v) => (v === undefined ? def : v.split(",").map((s) => s.trim()).filter(Boolean)));

/**
 * METRICS_PORT: where the service serves GET /metrics. Unset or empty: no metrics
 * listener (metrics are still counted), so a service started in a test or beside
 * another on one host never collides; 0: a port the OS picks (tests).
 */
export const metricsPort = () =>
  z.preprocess((v) => (v === "" ? undefined : v), z.coerce.number().int().min(0).max(65535).optional());
