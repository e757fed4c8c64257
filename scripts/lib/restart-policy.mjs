// When `npm start` restarts a service that exited on its own (crash, OOM, `kill -9`), and
// when it gives up: the policy of compose's `restart: unless-stopped` plus Kubernetes'
// CrashLoopBackOff, with an end, so a broken build does not spin for ever.
//
// - Restart after a delay: 0.5 s, doubling per consecutive crash, capped at 30 s.
// - A service that stayed up 60 s or more counts as healthy again: its next crash waits 0.5 s.
// - 5 crashes of one service within 60 s is a crash loop: give up on it, stop everything,
//   exit 1. A service that fails at start (bad config, missing build) reaches that in ~10 s
//   (0.5 + 1 + 2 + 4 s of backoff plus its own start-up); one that crashes every 20 s never
//   does, and keeps being restarted every 30 s at most, as an orchestrator would.
// - Only the service's own failures count towards a crash loop: an exit with a code, or a
//   signal it raised itself (SIGSEGV, SIGABRT, ...). A process killed from outside (SIGKILL,
//   SIGTERM, SIGINT, SIGHUP: `kill -9`, the OOM killer, a chaos run killing the worker ten
//   times in 15 s) says nothing about the build: it is restarted with the same backoff, for
//   ever, as compose and Kubernetes do.
export const RESTART_POLICY = Object.freeze({
  firstDelayMs: 500,
  maxDelayMs: 30_000,
  stableAfterMs: 60_000,
  crashLoopCount: 5,
  crashLoopWindowMs: 60_000,
});

/** Signals another process sends; an exit by one of them is not the service failing. */
export const EXTERNAL_SIGNALS = new Set(["SIGKILL", "SIGTERM", "SIGINT", "SIGHUP"]);

/** One per service: feed it each exit the runner did not ask for, do what it says. */
export class RestartTracker {
  constructor(policy = RESTART_POLICY) {
    this.policy = policy;
    this.crashes = []; // times of recent exits, within the crash-loop window
    this.consecutive = 0; // crashes since the service was last up for stableAfterMs
  }

  /**
   * @param {number} startedAt when the exited process was started (ms)
   * @param {number} exitedAt when it exited (ms)
   * @param {string | null} signal the signal that ended it, if any
   * @returns {{ giveUp: boolean, delayMs: number, recent: number }} recent: own crashes within the window, this one included
   */
  onExit(startedAt, exitedAt, signal = null) {
    const p = this.policy;
    if (exitedAt - startedAt >= p.stableAfterMs) this.consecutive = 0;
    this.crashes = this.crashes.filter((t) => exitedAt - t < p.crashLoopWindowMs);
    if (!EXTERNAL_SIGNALS.has(signal)) this.crashes.push(exitedAt);
    const recent = this.crashes.length;
    if (recent >= p.crashLoopCount) return { giveUp: true, delayMs: 0, recent };
    const delayMs = Math.min(p.firstDelayMs * 2 ** this.consecutive, p.maxDelayMs);
    this.consecutive++;
    return { giveUp: false, delayMs, recent };
  }
}
