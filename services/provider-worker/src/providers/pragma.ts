import { randomBytes, randomInt } from "node:crypto";
import { defineProvider, defineResourceType, sensitive, z } from "@pragma/provider-sdk";

/** Key/values passed through to outputs: lets other resources reference shared settings. */
const config = defineResourceType({
  name: "config",
  description: "Key/value configuration; outputs repeat the values so other resources can reference them.",
  config: z.record(z.string(), z.unknown()),
  outputs: z.record(z.string(), z.unknown()),
  async create(ctx) {
    return { ...ctx.config };
  },
  async update(ctx) {
    return { ...ctx.config };
  },
  async delete() {},
});

const secret = defineResourceType({
  name: "secret",
  description: "Stores a secret value; the value is sensitive in config and outputs.",
  config: z.object({ value: sensitive(z.string().min(1)) }).strict(),
  outputs: z.object({ value: sensitive(z.string()) }),
  async create(ctx) {
    return { value: ctx.config.value };
  },
  async update(ctx) {
    return { value: ctx.config.value };
  },
  async delete() {},
});

const CHARSETS = {
  alphanumeric: "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789",
  // No quotes, backslash or URL delimiters, so a value drops into a connection string or shell unescaped.
  password: "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.~!*",
  hex: "0123456789abcdef",
} as const;

const randomConfig = z
  .object({
    length: z.number().int().min(8).max(4096).default(32),
    kind: z.enum(["password", "token", "alphanumeric", "hex"]).default("password"),
    /** Changing any keeper regenerates the value; anything else keeps it. */
    keepers: z.record(z.string(), z.string()).optional(),
  })
  .strict();

function generate(c: z.infer<typeof randomConfig>): string {
  if (c.kind === "token") return randomBytes(Math.ceil((c.length * 3) / 4)).toString("base64url").slice(0, c.length);
  const chars = CHARSETS[c.kind];
  let out = "";
  for (let i = 0; i < c.length; i++) out += chars[randomInt(chars.length)];
  return out;
}

const random = defineResourceType({
  name: "random",
  description: "A generated password or token, stable until its length, kind or keepers change.",
  config: randomConfig,
  outputs: z.object({ value: sensitive(z.string()), length: z.number().int(), kind: z.string() }),
  async create(ctx) {
    // A create re-run after a crash may regenerate: nothing else has seen the first value yet.
    return { value: generate(ctx.config), length: ctx.config.length, kind: ctx.config.kind };
  },
  async update(ctx) {
    const prev = ctx.previousConfig;
    const keep =
      typeof ctx.outputs?.value === "string" &&
      prev !== null &&
      prev.length === ctx.config.length &&
      prev.kind === ctx.config.kind &&
      JSON.stringify(prev.keepers ?? {}) === JSON.stringify(ctx.config.keepers ?? {});
    if (keep) return { value: ctx.outputs!.value as string, length: ctx.config.length, kind: ctx.config.kind };
    return { value: generate(ctx.config), length: ctx.config.length, kind: ctx.config.kind };
  },
  async delete() {},
});

export const pragmaProvider = defineProvider({ name: "pragma", types: [config, secret, random] });

