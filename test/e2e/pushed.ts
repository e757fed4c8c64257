/**
 * Pushed providers through the front door: an org admin's token, packing a directory,
 * pushing it as multipart, and waiting for builds and deployments.
 */
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { waitFor } from "@pragma/testing";
import { packProvider } from "../../packages/cli/src/providers/pack";
import { call, SERVER_KEY } from "./system";

export async function adminToken(baseUrl: string, orgId: string): Promise<string> {
  const key = await call(baseUrl, "POST", `/orgs/${orgId}/api-keys`, { headers: { "x-server-key": SERVER_KEY }, body: { name: "admin", role: "admin" } });
  const tok = await call(baseUrl, "POST", "/auth/token", { body: { api_key: key.body.api_key } });
  if (tok.status !== 200) throw new Error(`token: ${tok.status} ${tok.text}`);
  return tok.body.access_token as string;
}

/** Writes `files` (path → content) into a fresh directory. */
export function writePackage(files: Record<string, string>): string {
  const dir = mkdtempSync(path.join(tmpdir(), "pragma-provider-"));
  for (const [p, content] of Object.entries(files)) {
    mkdirSync(path.dirname(path.join(dir, p)), { recursive: true });
    writeFileSync(path.join(dir, p), content);
  }
  return dir;
}

export async function pushBytes(baseUrl: string, token: string, providerId: string, bytes: Buffer, opts: { deploy?: boolean; part?: string } = {}) {
  const form = new FormData();
  if (opts.deploy) form.append("deploy", "true");
  form.append(opts.part ?? "code", new Blob([bytes], { type: "application/gzip" }), "package.tgz");
  const res = await fetch(`${baseUrl}/providers/${providerId}/push`, { method: "POST", headers: { authorization: `Bearer ${token}` }, body: form });
  const text = await res.text();
  let body: any;
  try {
    body = JSON.parse(text);
  } catch {
    body = undefined;
  }
  return { status: res.status, body, text };
}

export async function pushDir(baseUrl: string, token: string, providerId: string, dir: string, opts: { deploy?: boolean } = {}) {
  return pushBytes(baseUrl, token, providerId, await packProvider(dir), opts);
}

export function api(baseUrl: string, token: string) {
  return (method: string, p: string, body?: unknown) => call(baseUrl, method, p, { headers: { authorization: `Bearer ${token}` }, ...(body !== undefined ? { body } : {}) });
}

/** Polls the build until it is finished; returns its final status body. */
export async function waitForBuild(baseUrl: string, token: string, providerId: string, version: string, timeoutMs = 60_000) {
  const req = api(baseUrl, token);
  return waitFor(
    async () => {
      const b = await req("GET", `/providers/${providerId}/builds/${version}`);
      return b.status === 200 && (b.body.status === "success" || b.body.status === "failed") ? b.body : undefined;
    },
    { timeoutMs, intervalMs: 100, message: `build ${providerId} ${version} never finished` },
  );
}
