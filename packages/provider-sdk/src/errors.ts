/**
 * The two failure kinds a hook can signal. `permanent` is the flag the messaging
 * layer's default policy reads (err.permanent === true dead-letters, anything else is
 * retried), so an error thrown past the worker runtime is still handled the same way.
 */
export class PermanentError extends Error {
  readonly permanent = true as const;
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "PermanentError";
  }
}

export class RetryableError extends Error {
  readonly permanent = false as const;
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "RetryableError";
  }
}

export function isPermanent(err: unknown): boolean {
  return typeof err === "object" && err !== null && (err as { permanent?: unknown }).permanent === true;
}
