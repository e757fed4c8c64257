import { spawn, type ChildProcess } from "node:child_process";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { profileEnv, track } from "./system";

/** Starts one of the bench's own servers (tsx) and waits for its `READY <port>` line. */
export async function startBenchServer(file: string, env: Record<string, string> = {}, profileDir?: string): Promise<{ child: ChildProcess; port: number }> {
  const tsxCli = require.resolve("tsx/cli");
  const nodeOptions = profileDir ? profileEnv(profileDir, process.env) : {};
  const child = track(spawn(process.execPath, [tsxCli, join(__dirname, file)], { env: { ...process.env, ...env, ...nodeOptions }, stdio: ["ignore", "pipe", "inherit"] }));
  const port = await new Promise<number>((resolve, reject) => {
    const rl = createInterface({ input: child.stdout! });
    const timer = setTimeout(() => reject(new Error(`${file} did not start within 30s`)), 30_000);
    rl.on("line", (line) => {
      const m = /^READY (\d+)/.exec(line);
      if (m) {
        clearTimeout(timer);
        resolve(Number(m[1]));
      } else process.stdout.write(`[${file}] ${line}\n`);
    });
    child.once("exit", (code) => reject(new Error(`${file} exited (${code}) before READY`)));
  });
  return { child, port };
}
