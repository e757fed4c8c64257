import { existsSync, readFileSync, statSync } from "node:fs";
import { mkdir, mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import path from "node:path";
import { build as esbuild, formatMessages, type Plugin } from "esbuild";
import { TYPE_NAME_RE, safeSegments, type PackageLimits, type TypeDefinition } from "@pragma/contracts";
import type { Description } from "@pragma/provider-sdk";
import { ProviderProcess, type SandboxOptions } from "./provider-process";
import { PackageError, safeUnpack } from "./safe-unpack";

export interface BuildKey {
  org_id: string;
  provider_id: string;
  version: string;
}

export interface BuildDeps {
  /** One stored chunk of the tarball and how many there are. */
  fetchChunk(key: BuildKey, seq: number): Promise<{ data: string; chunks: number }>;
  report(r: BuildKey & { status: "building" | "success" | "failed"; error_message?: string | null; log?: string; bundle?: string; types?: TypeDefinition[] }): Promise<void>;
  /** Parent of each build's fresh directory. */
  workDir: string;
  limits: PackageLimits;
  sandbox: SandboxOptions;
}

/** The SDK the bundle is built against: the worker's own copy, so bundle and worker speak the same protocol. */
function sdkEntry(): { entry: string; dir: string } {
  const dir = path.dirname(require.resolve("@pragma/provider-sdk/package.json"));
  const dist = path.join(dir, "dist/index.js");
  return { entry: existsSync(dist) ? dist : path.join(dir, "src/index.ts"), dir };
}

const sdkPlugin = (): Plugin => ({
  name: "pragma-sdk",
  setup(b) {
    const sdk = sdkEntry();
    b.onResolve({ filter: /^@pragma\/provider-sdk$/ }, () => ({ path: sdk.entry }));
    // One zod for the provider and the SDK: sensitive() marks live in zod's registry.
    b.onResolve({ filter: /^zod(\/.*)?$/ }, (a) => ({ path: require.resolve(a.path, { paths: [sdk.dir] }) }));
  },
});

/** The package root: the archive root, or its one top-level directory (npm pack's "package/"). */
async function packageRoot(dir: string): Promise<string> {
  if (existsSync(path.join(dir, "package.json"))) return dir;
  const entries = await readdir(dir, { withFileTypes: true });
  const dirs = entries.filter((e) => e.isDirectory());
  if (dirs.length === 1 && existsSync(path.join(dir, dirs[0]!.name, "package.json"))) return path.join(dir, dirs[0]!.name);
  throw new PackageError("the package has no package.json");
}

function entryOf(root: string, log: (l: string) => void): string {
  let pkg: { main?: unknown; pragma?: { entry?: unknown } };
  try {
    pkg = JSON.parse(readFileSync(path.join(root, "package.json"), "utf8"));
  } catch (err) {
    throw new PackageError(`package.json is not valid JSON: ${(err as Error).message}`);
  }
  const declared = [pkg.pragma?.entry, pkg.main].find((v): v is string => typeof v === "string");
  const candidates = declared ? [declared] : ["src/index.ts", "index.ts", "src/index.js", "index.js"];
  for (const c of candidates) {
    const segs = safeSegments(c);
    if (!segs) throw new PackageError(`entry "${c}" points outside the package`);
    const p = path.join(root, ...segs);
    if (existsSync(p) && statSync(p).isFile()) {
      log(`entry: ${segs.join("/")}`);
      return p;
    }
  }
  throw new PackageError(declared ? `entry "${declared}" (package.json) does not exist` : "no entry: set main in package.json, or add src/index.ts");
}

/** Checks what the bundle says about itself (api.md §6: invalid schemas, malformed or duplicate type names). */
function validateTypes(providerId: string, d: Description): TypeDefinition[] {
  if (d.name !== providerId) throw new PackageError(`the package defines provider "${d.name}", but it was pushed as "${providerId}": use the same name in defineProvider`);
  if (!Array.isArray(d.types) || d.types.length === 0) throw new PackageError("the provider defines no resource types");
  const seen = new Set<string>();
  for (const t of d.types) {
    if (!TYPE_NAME_RE.test(t.resource)) throw new PackageError(`resource type name "${t.resource}" must match ${TYPE_NAME_RE.source}`);
    if (seen.has(t.resource)) throw new PackageError(`duplicate resource type ${t.resource}`);
    seen.add(t.resource);
    if (t.schema?.type !== "object") throw new PackageError(`resource type ${t.resource}: config schema must describe an object (JSON Schema type "object")`);
    if (typeof t.outputs_schema !== "object" || t.outputs_schema === null) throw new PackageError(`resource type ${t.resource}: outputs schema is missing`);
  }
  return d.types.map((t) => ({ ...t, provider: providerId }));
}

/**
 * One build, start to finish, reported to the store: building, then success (bundle and
 * types) or failed (error message). The whole log is kept either way. Never throws for a
 * bad package; throws only when the store cannot be reached (the build is redelivered).
 */
export async function buildProvider(deps: BuildDeps, key: BuildKey): Promise<{ status: "success" | "failed"; ms: number }> {
  const started = Date.now();
  const lines: string[] = [];
  const log = (l: string) => lines.push(`[${((Date.now() - started) / 1000).toFixed(3)}s] ${l}`);
  await deps.report({ ...key, status: "building", log: "" });
  await mkdir(deps.workDir, { recursive: true });
  const dir = await mkdtemp(path.join(deps.workDir, `build-${key.provider_id}-`));
  try {
    log(`build ${key.provider_id} ${key.version}`);
    const tgz = path.join(dir, "package.tgz");
    const parts: Buffer[] = [];
    for (let seq = 0, total = 1; seq < total; seq++) {
      const c = await deps.fetchChunk(key, seq);
      total = c.chunks;
      parts.push(Buffer.from(c.data, "base64"));
    }
    await writeFile(tgz, Buffer.concat(parts));
    log(`fetched ${parts.reduce((n, p) => n + p.length, 0)} bytes in ${parts.length} chunks`);
    const src = path.join(dir, "src");
    await mkdir(src);
    await safeUnpack(tgz, src, deps.limits, log);
    const root = await packageRoot(src);
    const entry = entryOf(root, log);
    // Dependencies: what the tarball brings (node_modules) and the SDK; nothing is installed, no script runs.
    const stub = path.join(root, "__pragma_entry__.js");
    await writeFile(
      stub,
      `const m = require(${JSON.stringify(entry)});\n` +
        `const p = [m, m && m.default, m && m.provider].find((x) => x && x.types instanceof Map && typeof x.name === "string");\n` +
        `if (!p) throw new Error("the entry module must export the provider from defineProvider (default export, export const provider, or module.exports)");\n` +
        `require("@pragma/provider-sdk").serveProvider(p);\n`,
    );
    const result = await esbuild({
      entryPoints: [stub],
      bundle: true,
      platform: "node",
      target: "node20",
      format: "cjs",
      write: false,
      absWorkingDir: root,
      logLevel: "silent",
      plugins: [sdkPlugin()],
    }).catch(async (err: { errors?: import("esbuild").Message[] }) => {
      if (err.errors) for (const m of await formatMessages(err.errors, { kind: "error" })) log(m.trimEnd());
      throw new PackageError(`bundling failed: ${err.errors?.[0]?.text ?? String(err)}`);
    });
    for (const m of await formatMessages(result.warnings, { kind: "warning" })) log(m.trimEnd());
    const bundle = result.outputFiles[0]!.text;
    log(`bundled ${bundle.length} bytes`);

    const out = path.join(dir, "out");
    await mkdir(out);
    await writeFile(path.join(out, "bundle.js"), bundle);
    const proc = new ProviderProcess(path.join(out, "bundle.js"), out, deps.sandbox, ({ stderr }) => {
      if (stderr.trim()) log(`bundle process stderr:\n${stderr.trimEnd()}`);
    });
    let description: Description;
    try {
      description = await proc.request<Description>({ op: "describe" }, { timeoutMs: 30_000 });
    } catch (err) {
      throw new PackageError(`loading the bundle failed: ${(err as Error).message}`);
    } finally {
      proc.kill();
    }
    const types = validateTypes(key.provider_id, description);
    log(`types: ${types.map((t) => t.resource).join(", ")}`);
    log(`build succeeded in ${Date.now() - started} ms`);
    await deps.report({ ...key, status: "success", log: lines.join("\n") + "\n", bundle, types, error_message: null });
    return { status: "success", ms: Date.now() - started };
  } catch (err) {
    if (!(err instanceof PackageError)) log(`internal error: ${(err as Error).message}`);
    const message = err instanceof PackageError ? err.message : "the build failed on the worker (see the log)";
    log(`build failed: ${message}`);
    await deps.report({ ...key, status: "failed", log: lines.join("\n") + "\n", error_message: message });
    return { status: "failed", ms: Date.now() - started };
  } finally {
    await rm(dir, { recursive: true, force: true }).catch(() => undefined);
  }
}
