import { AppError } from "@pragma/errors";
import type { LifecycleState } from "@pragma/contracts";

export const BUSY_MESSAGE = "Resource is currently being processed and cannot be modified";

/** pending and processing own the resource until the worker's result arrives. */
export function assertModifiable(state: LifecycleState): void {
  if (state === "pending" || state === "processing") throw new AppError("CONFLICT", BUSY_MESSAGE);
}

export function transitionError(from: LifecycleState, to: string): AppError {
  return new AppError("CONFLICT", `Cannot transition from ${from.toUpperCase()} to ${to.toUpperCase()}`);
}
