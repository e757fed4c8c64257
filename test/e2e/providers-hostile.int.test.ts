import { existsSync } from "node:fs";
import { randomBytes } from "node:crypto";
import { newUlid } from "@pragma/ids";
import { rawTarball } from "@pragma/testing";
import { startSystem, type RunningSystem } from "./system";
import { createOrg } from "./tenant";
import { adminToken, api, pushBytes } from "./pushed";

/**
 * api.md §6: hostile uploads get a clear 4xx naming the problem, and nothing is stored
 * (the provider does not even appear) or written anywhere.
 */
describe("hostile provider pushes", () => {
  let sys: RunningSystem;
  let token: string;
  const pkg = { path: "package.json", body: '{"name":"x"}' };
  beforeAll(async () => {
    // Small limits so the limit cases stay small.
    sys = await startSystem("providers-hostile", { PROVIDER_MAX_ENTRIES: "50", PROVIDER_UNPACKED_MAX_BYTES: String(1024 * 1024), PROVIDER_PUSH_MAX_BYTES: String(256 * 1024) });
    const org = await createOrg(sys.baseUrl);
    token = await adminToken(sys.baseUrl, org.orgId);
  });
  afterAll(async () => {
    await sys?.stop();
  });

  const sentinel = `/tmp/pragma-hostile-${newUlid()}`;
  const cases: [string, Buffer, number, RegExp][] = [
    ["path traversal", rawTarball([pkg, { path: `../../../../../../..${sentinel}`, body: "x" }]), 422, /not allowed/],
    ["absolute path", rawTarball([pkg, { path: sentinel, body: "x" }]), 422, /absolute paths/],
    ["symlink out", rawTarball([pkg, { path: "link", type: "SymbolicLink", linkpath: "../../../../etc/passwd" }]), 422, /points outside/],
    ["absolute symlink", rawTarball([pkg, { path: "link", type: "SymbolicLink", linkpath: "/etc/passwd" }]), 422, /points outside/],
    ["hard link out", rawTarball([pkg, { path: "hl", type: "Link", linkpath: "../x" }]), 422, /points outside/],
    ["device", rawTarball([pkg, { path: "dev", type: "CharacterDevice" }]), 422, /CharacterDevice/],
    ["fifo", rawTarball([pkg, { path: "pipe", type: "FIFO" }]), 422, /FIFO/],
    ["not gzip", Buffer.from("just some text, not an archive"), 422, /gzip/],
    ["plain tar", rawTarball([pkg], { gzip: false }), 422, /gzip/],
    ["gzip of garbage", require("node:zlib").gzipSync(randomBytes(4096)), 422, /tar/],
    ["too many entries", rawTarball([pkg, ...Array.from({ length: 60 }, (_, i) => ({ path: `f${i}.txt`, body: "x" }))]), 413, /more than 50 entries/],
    ["tar bomb", rawTarball([pkg, { path: "zeros.bin", body: Buffer.alloc(4 * 1024 * 1024) }]), 413, /unpacks to more than/],
    ["too large compressed", rawTarball([pkg, { path: "noise.bin", body: randomBytes(400 * 1024) }]), 413, /larger than/],
    ["no package.json", rawTarball([{ path: "index.js", body: "x" }]), 422, /package\.json/],
  ];

  it.each(cases)("%s: refused, nothing stored or written", async (_name, bytes, status, message) => {
    const id = `h${newUlid().slice(-8).toLowerCase()}`;
    const r = await pushBytes(sys.baseUrl, token, id, bytes);
    expect({ status: r.status, detail: JSON.stringify(r.body?.detail) }).toEqual({ status, detail: expect.stringMatching(message) });
    expect((await api(sys.baseUrl, token)("GET", `/providers/${id}/builds`)).status).toBe(404);
    expect(existsSync(sentinel)).toBe(false);
  });

  it("a part not named code is 422 naming it; no part at all is 422 on code", async () => {
    const r = await pushBytes(sys.baseUrl, token, "wrongpart", rawTarball([pkg]), { part: "file" });
    expect(r.status).toBe(422);
    expect(JSON.stringify(r.body.detail)).toMatch(/file/);
    const form = new FormData();
    form.append("deploy", "true");
    const none = await fetch(`${sys.baseUrl}/providers/nopart/push`, { method: "POST", headers: { authorization: `Bearer ${token}` }, body: form });
    expect(none.status).toBe(422);
    const json = await fetch(`${sys.baseUrl}/providers/jsonbody/push`, { method: "POST", headers: { authorization: `Bearer ${token}`, "content-type": "application/json" }, body: "{}" });
    expect(json.status).toBe(400);
  });
});
