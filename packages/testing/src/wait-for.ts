export interface WaitForOptions {
  /** Default 5000. */
  timeoutMs?: number;
  /** Default 50. */
  intervalMs?: number;
  /** What was awaited, for the timeout error. */
  message?: string;
}

/**
 * Polls `fn` until it returns something other than `undefined` or `false`, and returns
 * that. A throw counts as "not yet" (the row, queue or key may not exist yet), but the
 * last error is attached to the timeout so a persistent failure is not hidden.
 */
export async function waitFor<T>(fn: () => Promise<T | undefined | false>, options: WaitForOptions = {}): Promise<T> {
  const { timeoutMs = 5_000, intervalMs = 50, message = "condition" } = options;
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await fn();
      if (value !== undefined && value !== false) return value;
      lastError = undefined;
    } catch (err) {
      lastError = err;
    }
    if (Date.now() >= deadline) break;
    await new Promise((resolve) => setTimeout(resolve, Math.min(intervalMs, Math.max(0, deadline - Date.now()))));
  }
  const suffix = lastError === undefined ? "" : ` (last attempt threw: ${lastError instanceof Error ? lastError.message : String(lastError)})`;
  throw new Error(`waitFor timed out after ${timeoutMs} ms: ${message}${suffix}`, lastError === undefined ? undefined : { cause: lastError });
}
