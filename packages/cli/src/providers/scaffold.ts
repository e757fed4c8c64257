/**
 * `pragma providers init DIR --name ID`: a provider package that builds and runs as is —
 * one example type whose required config fields are plain strings, numbers and booleans,
 * its test, and a README. Files as data, so the CLI and the tests write the same package.
 */
export function scaffoldFiles(name: string): Record<string, string> {
  const pkg = {
    name: `${name}-provider`,
    version: "0.1.0",
    private: true,
    description: `pragma provider "${name}"`,
    main: "src/index.ts",
    scripts: { test: "node --test --require tsx/cjs test/" },
    dependencies: { "@pragma/provider-sdk": "*" },
  };
  return {
    "package.json": JSON.stringify(pkg, null, 2) + "\n",
    "src/index.ts": `import { PermanentError, defineProvider, defineResourceType, z } from "@pragma/provider-sdk";

/**
 * An example type: a "note" with a title, a priority and an archived flag. Its outputs
 * are computed; replace the hooks' bodies with calls to the system you manage.
 */
export const note = defineResourceType({
  name: "note",
  description: "An example note: outputs a slug of its title",
  config: z.object({
    title: z.string().min(1),
    priority: z.number().int().min(0).max(10),
    archived: z.boolean(),
  }),
  outputs: z.object({ slug: z.string(), priority: z.number(), archived: z.boolean() }),
  async create(ctx) {
    if (ctx.config.title.trim() === "") throw new PermanentError("title must not be blank");
    ctx.log("creating note", { title: ctx.config.title });
    return { slug: slugify(ctx.config.title), priority: ctx.config.priority, archived: ctx.config.archived };
  },
  async update(ctx) {
    return { slug: slugify(ctx.config.title), priority: ctx.config.priority, archived: ctx.config.archived };
  },
  async delete(ctx) {
    ctx.log("deleting note", { slug: ctx.outputs?.slug });
  },
});

export function slugify(s: string): string {
  return s.toLowerCase().replace(/[^a-z0-9]+/g, "-").replace(/^-|-$/g, "");
}

export const provider = defineProvider({ name: ${JSON.stringify(name)}, types: [note] });
export default provider;
`,
    "test/index.test.ts": `import { test } from "node:test";
import assert from "node:assert/strict";
import { handleChildRequest, type ChildMessage } from "@pragma/provider-sdk";
import provider from "../src/index";

/** Runs a hook the way a worker's child process does, and returns its answer. */
async function call(hook: "create" | "update" | "delete", config: Record<string, unknown>) {
  const sent: ChildMessage[] = [];
  const resource = { provider: provider.name, type: "note", name: "n1", id: "resource:x", orgId: "o", projectId: "p", spaceId: "s" };
  await handleChildRequest(provider, { id: 1, op: "hook", hook, call: { type: "note", config, previousConfig: null, outputs: null, resource, eventId: "e1", eventType: "CREATE", attempt: 0 } }, (m) => sent.push(m));
  return sent.find((m) => "ok" in m)!;
}

test("create outputs a slug", async () => {
  assert.deepEqual(await call("create", { title: "Hello World", priority: 2, archived: false }), { id: 1, ok: true, result: { slug: "hello-world", priority: 2, archived: false } });
});

test("invalid config is a permanent error", async () => {
  const r = await call("create", { title: "x" });
  assert.equal(r.ok, false);
  assert.equal((r as { error: { permanent: boolean } }).error.permanent, true);
});
`,
    "README.md": `# ${name} provider

A pragma provider, written against \`@pragma/provider-sdk\`.

- \`src/index.ts\` defines the resource types and exports the provider (default export).
- \`test/index.test.ts\` runs the hooks as a worker would.

Push, build and deploy it:

\`\`\`sh
pragma providers push . --deploy --wait
pragma resources apply -f note.yaml      # provider: ${name}, resource: note
\`\`\`

Only the SDK (and \`zod\`, which it re-exports as \`z\`) and Node's built-in modules are
available without more: anything else must be in the package's own \`node_modules\`
(nothing is installed and no install script runs on the build worker). The provider
runs in a sandboxed process without environment variables or file access outside its
bundle; \`ctx.database()\` is not available to pushed providers.
`,
  };
}
