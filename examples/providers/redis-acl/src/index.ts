import { randomBytes } from "node:crypto";
import { PermanentError, RetryableError, defineProvider, defineResourceType, sensitive, z } from "@pragma/provider-sdk";
import { redis, type Reply } from "./resp";

const NAME_RE = /^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,63}$/;

const config = z.object({
  /** The Redis to manage, as the worker reaches it. An admin password in the URL is a secret. */
  redis_url: sensitive(z.string().regex(/^redis:\/\//, "must start with redis://")),
  username: z.string().regex(NAME_RE, "letters, digits, _ . - (max 64)"),
  /** Keys the user may touch, e.g. "app:*". */
  key_pattern: z.string().min(1).default("*"),
  /** Command categories, e.g. "+@read" or "+@read +@write". */
  commands: z.string().regex(/^([+-]@?[a-z|]+\s*)+$/, "ACL command rules like +@read -@dangerous").default("+@read"),
});

/** Any error reply is the server refusing the rule: running it again gives the same answer. */
function check(replies: Reply[]): Reply[] {
  for (const r of replies) if (r instanceof Error) throw new PermanentError(`redis refused: ${r.message}`);
  return replies;
}

async function run(url: string, commands: string[][]): Promise<Reply[]> {
  try {
    return check(await redis(url, commands));
  } catch (err) {
    if (err instanceof PermanentError) throw err;
    throw new RetryableError(`redis unreachable: ${(err as Error).message}`);
  }
}

function setUser(c: z.infer<typeof config>, password: string): string[] {
  // reset: the rules become exactly these, so create and update converge on the same state.
  return ["ACL", "SETUSER", c.username, "reset", "on", `>${password}`, `~${c.key_pattern}`, ...c.commands.split(/\s+/).filter(Boolean)];
}

const user = defineResourceType({
  name: "user",
  description: "A Redis ACL user with a generated password, limited to a key pattern and command categories",
  config,
  outputs: z.object({ username: z.string(), password: sensitive(z.string()), rules: z.string() }),
  async create(ctx) {
    // A create re-run after a crash keeps the password it already set.
    const password = (ctx.outputs?.password as string | undefined) ?? randomBytes(24).toString("base64url");
    await run(ctx.config.redis_url, [setUser(ctx.config, password)]);
    ctx.log("redis user set", { username: ctx.config.username });
    return { username: ctx.config.username, password, rules: `~${ctx.config.key_pattern} ${ctx.config.commands}` };
  },
  async update(ctx) {
    const password = (ctx.outputs?.password as string | undefined) ?? randomBytes(24).toString("base64url");
    const prev = ctx.previousConfig;
    const commands = [setUser(ctx.config, password)];
    // A renamed user: the old one goes.
    if (prev && prev.username !== ctx.config.username) commands.push(["ACL", "DELUSER", prev.username]);
    await run(ctx.config.redis_url, commands);
    return { username: ctx.config.username, password, rules: `~${ctx.config.key_pattern} ${ctx.config.commands}` };
  },
  async delete(ctx) {
    // DELUSER of a user already gone answers 0: delete is idempotent.
    await run(ctx.config.redis_url, [["ACL", "DELUSER", ctx.config.username]]);
  },
  async health(ctx) {
    const [r] = await run(ctx.config.redis_url, [["ACL", "GETUSER", ctx.config.username]]);
    return r === null ? { status: "unhealthy", message: "user does not exist" } : { status: "healthy" };
  },
});

export const provider = defineProvider({ name: "redis-acl", types: [user] });
export default provider;
