/**
 * docker-compose.yml validated by Compose itself (`docker compose config -q`, or the
 * standalone `docker-compose`), wherever the docker CLI is installed: it needs no engine.
 * Where docker is installed without Compose, this fails with the command that adds it
 * (.ci/run installs it). Where there is no docker CLI at all, the file is still parsed and
 * every file it mounts or builds from must exist.
 */
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { parse } from "yaml";

const root = join(__dirname, "..", "..");
const has = (cmd: string, args: string[]) => !spawnSync(cmd, args, { encoding: "utf8" }).error && spawnSync(cmd, args).status === 0;

it(has("docker", ["--version"]) ? "docker compose config accepts docker-compose.yml" : "docker-compose.yml parses and names only files that exist (no docker CLI here)", () => {
  if (has("docker", ["--version"])) {
    const compose: [string, string[]] | undefined = has("docker", ["compose", "version"])
      ? ["docker", ["compose", "config", "-q"]]
      : has("docker-compose", ["version"])
        ? ["docker-compose", ["config", "-q"]]
        : undefined;
    if (!compose) throw new Error("docker is installed without Compose: install the plugin (docker-compose-plugin) or, on Debian, sudo apt-get install -y docker-compose");
    const r = spawnSync(compose[0], compose[1], { cwd: root, encoding: "utf8" });
    expect(r.stderr.split("\n").filter((l) => /error|invalid/i.test(l))).toEqual([]);
    expect(r.status).toBe(0);
  }
  const file = parse(readFileSync(join(root, "docker-compose.yml"), "utf8")) as { services: Record<string, { volumes?: string[] }> };
  expect(Object.keys(file.services)).toEqual(expect.arrayContaining(["postgres", "rabbitmq", "redis", "gateway", "registry", "resource-store", "provider-worker"]));
  for (const [name, svc] of Object.entries(file.services)) {
    for (const v of svc.volumes ?? []) {
      const src = v.split(":")[0]!;
      if (src.startsWith("./")) expect({ service: name, mount: src, exists: existsSync(join(root, src)) }).toEqual({ service: name, mount: src, exists: true });
    }
  }
  expect(existsSync(join(root, "Dockerfile"))).toBe(true);
});

it("restarts every service of ours that exits on its own, as npm start does (scripts/lib/restart-policy.mjs)", () => {
  const file = parse(readFileSync(join(root, "docker-compose.yml"), "utf8"), { merge: true }) as { services: Record<string, { restart?: string }> };
  for (const name of ["gateway", "registry", "resource-store", "provider-worker"]) expect({ name, restart: file.services[name]?.restart }).toEqual({ name, restart: "unless-stopped" });
});
