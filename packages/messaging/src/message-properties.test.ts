import { z } from "zod";
import { isPermanentError } from "./deliveries";
import { contextFromProperties, deliveryCountOf, publishedAtOf, tenantHeaders } from "./message-properties";
import { MessageValidationError, toValidationIssues } from "./errors";

describe("delivery helpers", () => {
  it("reads x-delivery-count from quorum queues and treats absence as the first delivery", () => {
    expect(deliveryCountOf(undefined)).toBe(0);
    expect(deliveryCountOf({})).toBe(0);
    expect(deliveryCountOf({ "x-delivery-count": 3 })).toBe(3);
    expect(deliveryCountOf({ "x-delivery-count": BigInt(2) })).toBe(2);
    expect(deliveryCountOf({ "x-delivery-count": "nonsense" })).toBe(0);
  });

  it("reads the AMQP timestamp (seconds) as the time the message was published", () => {
    expect(publishedAtOf(1_700_000_000)).toEqual(new Date(1_700_000_000_000));
    expect(publishedAtOf(undefined)).toBeUndefined();
    expect(publishedAtOf(0)).toBeUndefined();
    expect(publishedAtOf("1700000000")).toBeUndefined();
  });

  it("takes the request id from the correlation id, else the message id, and tenant ids from headers", () => {
    expect(contextFromProperties({ correlationId: "req_1", messageId: "msg_1", headers: { "x-org-id": "o", "x-space-id": "s" } })).toEqual({
      requestId: "req_1",
      orgId: "o",
      spaceId: "s",
    });
    expect(contextFromProperties({ messageId: "msg_1" })).toEqual({ requestId: "msg_1" });
    expect(contextFromProperties({}).requestId).toMatch(/^req_/);
  });

  it("turns the request context's tenant ids into headers", () => {
    expect(tenantHeaders({ requestId: "r", orgId: "o", projectId: "p" })).toEqual({ "x-org-id": "o", "x-project-id": "p" });
    expect(tenantHeaders(undefined)).toEqual({});
  });

  it("recognises permanent errors by their flag only", () => {
    expect(isPermanentError(Object.assign(new Error("x"), { permanent: true }))).toBe(true);
    expect(isPermanentError(Object.assign(new Error("x"), { permanent: "yes" }))).toBe(false);
    expect(isPermanentError(new Error("x"))).toBe(false);
    expect(isPermanentError(null)).toBe(false);
  });
});

describe("MessageValidationError", () => {
  it("carries zod issues in the 422 list form", () => {
    const r = z.object({ a: z.object({ b: z.number() }) }).safeParse({ a: { b: "x" } });
    if (r.success) throw new Error("expected failure");
    const err = new MessageValidationError("x.y.z.v1", toValidationIssues(r.error));
    expect(err.code).toBe("VALIDATION_FAILED");
    expect(err.issues).toEqual([{ loc: ["a", "b"], msg: expect.any(String), type: "invalid_type" }]);
    expect(err.message).toMatch(/^invalid x\.y\.z\.v1 payload: a\.b: /);
  });
});
