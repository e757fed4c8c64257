import { fork, type ChildProcess } from "node:child_process";
import { RetryableError, type ChildMessage, type ChildRequest, type LogLine } from "@pragma/provider-sdk";

export interface SandboxOptions {
  /** --max-old-space-size of the child (MiB). */
  memoryMb: number;
  /** A request that has not answered after this long kills the process. */
  timeoutMs: number;
  /** How long a fresh process may take to load its bundle and answer a first ping (not counted against a hook). Default 30 s. */
  loadTimeoutMs?: number;
}

type Pending = { resolve(v: unknown): void; reject(e: Error): void; onLog?: ((l: Omit<LogLine, "at">) => void) | undefined; timer: NodeJS.Timeout };

type Op = { op: "describe" } | { op: "ping" } | Omit<Extract<ChildRequest, { op: "hook" }>, "id">;

/**
 * One pushed provider bundle in its own Node process: an empty environment (none of the
 * worker's variables or secrets), a heap limit, Node's permission model (reads only in
 * its own directory; no child processes, workers or writes). Requests go over IPC; one
 * that outlives its time limit kills the process, and every request still in flight fails
 * as retryable. The next request after an exit starts a fresh process.
 */
export class ProviderProcess {
  private child: ChildProcess | undefined;
  /** Settles once the current process has loaded its bundle and answered. */
  private ready: Promise<void> | undefined;
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private stderrTail = "";
  private lastUsed = Date.now();
  /** Processes started, for tests and logs. */
  starts = 0;

  constructor(
    private readonly bundlePath: string,
    private readonly dir: string,
    private readonly opts: SandboxOptions,
    private readonly onExit: (info: { code: number | null; signal: string | null; stderr: string }) => void = () => undefined,
  ) {}

  get idleMs(): number {
    return this.pending.size > 0 ? 0 : Date.now() - this.lastUsed;
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  private start(): ChildProcess {
    this.starts++;
    this.stderrTail = "";
    const child = fork(this.bundlePath, [], {
      cwd: this.dir,
      env: {},
      execArgv: [`--max-old-space-size=${this.opts.memoryMb}`, "--experimental-permission", `--allow-fs-read=${this.dir}`, "--no-warnings"],
      stdio: ["ignore", "ignore", "pipe", "ipc"],
      serialization: "json",
    });
    child.stderr?.on("data", (d: Buffer) => {
      this.stderrTail = (this.stderrTail + d.toString("utf8")).slice(-2000);
    });
    child.on("message", (m: ChildMessage) => this.onMessage(m));
    child.on("exit", (code, signal) => {
      if (this.child === child) this.child = undefined;
      const why = /heap out of memory|Allocation failed/i.test(this.stderrTail)
        ? "ran out of memory"
        : signal
          ? `was stopped (${signal})`
          : `exited with code ${code}`;
      this.failAll(new RetryableError(`provider process ${why}`));
      this.onExit({ code, signal, stderr: this.stderrTail });
    });
    // A send to a process that just died fails its requests through "exit" above.
    child.on("error", () => undefined);
    this.child = child;
    // Loading the bundle is the process's start-up, not part of the first hook's time.
    this.ready = this.send<void>(child, { op: "ping" }, { timeoutMs: this.opts.loadTimeoutMs ?? 30_000 });
    this.ready.catch(() => undefined);
    return child;
  }

  private onMessage(m: ChildMessage): void {
    const p = this.pending.get(m.id);
    if (!p) return;
    if ("log" in m) {
      p.onLog?.(m.log);
      return;
    }
    this.pending.delete(m.id);
    clearTimeout(p.timer);
    if (m.ok) p.resolve(m.result);
    else {
      const err = new Error(m.error.message) as Error & { permanent: boolean };
      err.permanent = m.error.permanent;
      p.reject(err);
    }
  }

  private failAll(err: Error): void {
    for (const [id, p] of this.pending) {
      clearTimeout(p.timer);
      this.pending.delete(id);
      p.reject(err);
    }
  }

  /** Sends one request; `signal` aborting (the worker's own hook timeout or shutdown) kills the process too. */
  async request<T>(op: Op, opts: { onLog?: (l: Omit<LogLine, "at">) => void; signal?: AbortSignal; timeoutMs?: number } = {}): Promise<T> {
    this.lastUsed = Date.now();
    const child = this.child ?? this.start();
    try {
      await this.ready;
    } catch (err) {
      throw new RetryableError(`provider process did not start: ${(err as Error).message}`);
    }
    if (this.child !== child) throw new RetryableError("provider process exited");
    return this.send<T>(child, op, opts);
  }

  private send<T>(child: ChildProcess, op: Op, opts: { onLog?: (l: Omit<LogLine, "at">) => void; signal?: AbortSignal; timeoutMs?: number }): Promise<T> {
    const id = this.nextId++;
    const timeoutMs = opts.timeoutMs ?? this.opts.timeoutMs;
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => this.kill(new RetryableError(`hook timed out after ${timeoutMs} ms; the provider process was stopped`)), timeoutMs);
      this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject, onLog: opts.onLog, timer });
      opts.signal?.addEventListener("abort", () => this.kill(new RetryableError("hook aborted; the provider process was stopped")), { once: true });
      child.send({ id, ...op } as ChildRequest, (err) => {
        if (err) this.kill(new RetryableError(`provider process unreachable: ${err.message}`));
      });
    }).finally(() => (this.lastUsed = Date.now()));
  }

  /** Stops the process; its in-flight requests fail with `reason`. */
  kill(reason: Error = new RetryableError("provider process stopped")): void {
    const child = this.child;
    this.child = undefined;
    this.failAll(reason);
    if (child && child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
  }
}
