// System tools some tests drive, installed from Debian's packages when they are missing
// and this is a root shell with apt-get (as on a fresh CI machine): Chromium for the web
// console's browser tests, kubectl for the manifest checks, and Compose where the docker CLI
// is installed without it (the compose file check runs `docker compose config` then). Elsewhere nothing is changed;
// the tests that need a missing tool then fail naming the command to install it.
import { existsSync } from "node:fs";
import { spawnSync } from "node:child_process";
import { say } from "./workspace.mjs";

const onPath = (cmd) => spawnSync("sh", ["-c", `command -v ${cmd}`], { stdio: "ignore" }).status === 0;

const TOOLS = [
  { pkg: "chromium", present: () => existsSync("/usr/bin/chromium") },
  { pkg: "kubectl", present: () => onPath("kubectl") },
  {
    pkg: "docker-compose",
    present: () => !onPath("docker") || onPath("docker-compose") || spawnSync("docker", ["compose", "version"], { stdio: "ignore" }).status === 0,
  },
];

export function ensureTools() {
  const missing = TOOLS.filter((t) => !t.present()).map((t) => t.pkg);
  if (missing.length === 0) return;
  if (process.getuid?.() !== 0 || !onPath("apt-get") || process.env.PRAGMA_INSTALL_TOOLS === "0") {
    say(`missing ${missing.join(", ")}: the tests that need them will fail (apt-get install -y ${missing.join(" ")})`);
    return;
  }
  say(`installing ${missing.join(", ")} from Debian's packages (apt-get; PRAGMA_INSTALL_TOOLS=0 skips this)`);
  const env = { ...process.env, DEBIAN_FRONTEND: "noninteractive" };
  const update = spawnSync("apt-get", ["update", "-qq"], { stdio: "inherit", env });
  const install = update.status === 0 ? spawnSync("apt-get", ["install", "-y", "-qq", ...missing], { stdio: "inherit", env }) : update;
  if (install.status !== 0) say(`apt-get could not install ${missing.join(", ")} (exit ${install.status}); the tests that need them will fail`);
}
