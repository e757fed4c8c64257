import { homedir } from "node:os";

export interface OutStream {
  write(chunk: string): unknown;
  isTTY?: boolean;
  columns?: number;
}

/**
 * Everything the CLI touches outside itself, so a command can run in-process in a
 * test with captured streams, a fixed clock and a chosen environment.
 */
export interface Io {
  stdout: OutStream;
  stderr: OutStream;
  readStdin(): Promise<string>;
  env: Record<string, string | undefined>;
  fetch: typeof fetch;
  now(): number;
  homedir(): string;
  sleep(ms: number): Promise<void>;
}

export function processIo(): Io {
  return {
    stdout: process.stdout,
    stderr: process.stderr,
    async readStdin() {
      const chunks: Buffer[] = [];
      for await (const chunk of process.stdin) chunks.push(Buffer.from(chunk as Buffer));
      return Buffer.concat(chunks).toString("utf8");
    },
    env: process.env,
    fetch: globalThis.fetch.bind(globalThis),
    now: () => Date.now(),
    homedir,
    sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
  };
}
