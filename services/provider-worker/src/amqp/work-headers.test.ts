import { readAttemptHistory } from "@pragma/contracts";
import type { WorkInput } from "../domain/ports";
import { deadLetterHeaders, readCopy, retryHeaders, waitHeaders } from "./work-headers";

const history = { runs: 2, retries: 1, crashed: 0, lease_waits: 1, attempts: [{ attempt: 1, at: "2026-01-01T00:00:00.000Z", outcome: "retried" as const, error: "transient" }] };
const delivered = {
  "x-org-id": "org",
  "x-resource-id": "r",
  "x-retry-count": 1,
  "x-lock-waits": 3,
  "x-attempt-history": JSON.stringify(history),
  "x-delivery-count": 2,
  "x-death": [{ reason: "expired" }],
  "x-first-death-reason": "expired",
  CC: ["test"],
};
const input = { work: {} as WorkInput["work"], correlationId: undefined, headers: delivered, copy: readCopy(delivered, 2) } satisfies WorkInput;

describe("work headers: reading a copy and writing the next", () => {
  it("reads the copy's counts and history", () => {
    expect(input.copy).toEqual({ retryCount: 1, leaseWaits: 3, history, deliveryCount: 2 });
    expect(readCopy({}, 0)).toEqual({ retryCount: 0, leaseWaits: 0, history: null, deliveryCount: 0 });
    expect(readCopy({ "x-attempt-history": "not json", "x-retry-count": "2" }, 0)).toMatchObject({ retryCount: 2, history: null });
  });

  it("a wait adds one lease wait and keeps everything else, without the broker's headers", () => {
    expect(waitHeaders(input)).toEqual({ "x-org-id": "org", "x-resource-id": "r", "x-retry-count": 1, "x-lock-waits": 4, "x-attempt-history": JSON.stringify(history) });
  });

  it("a retry sets the count and the history", () => {
    const next = { ...history, runs: 3, retries: 2 };
    const h = retryHeaders(input, 2, next);
    expect(h["x-retry-count"]).toBe(2);
    expect(readAttemptHistory(h)).toEqual(next);
    expect(Object.keys(h).some((k) => k.startsWith("x-death") || k.startsWith("x-first-death") || k === "x-delivery-count" || k === "CC")).toBe(false);
  });

  it("a dead letter says why, with the error capped and the history", () => {
    const h = deadLetterHeaders(input, { reason: "retries_exhausted", permanent: false, error: "e".repeat(5000), retryCount: 3, history });
    expect(h).toMatchObject({ "x-retry-count": 3, "x-permanent-error": false, "x-dead-letter-reason": "retries_exhausted" });
    expect((h["x-error-message"] as string).length).toBe(4000);
    expect(readAttemptHistory(h)).toEqual(history);
  });
});
