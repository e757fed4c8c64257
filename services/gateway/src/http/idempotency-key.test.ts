import { AppError } from "@pragma/errors";
import { idempotencyKeyOf } from "./idempotency-key";

describe("Idempotency-Key header", () => {
  it("is optional", () => {
    expect(idempotencyKeyOf({})).toBeUndefined();
  });

  it("takes the draft's quoted string form and a bare value alike", () => {
    expect(idempotencyKeyOf({ "idempotency-key": '"8e03978e-40d5-43e8-bc93-6894a57f9324"' })).toBe("8e03978e-40d5-43e8-bc93-6894a57f9324");
    expect(idempotencyKeyOf({ "idempotency-key": "order-42/attempt:1" })).toBe("order-42/attempt:1");
  });

  it.each([["has space"], ['""'], ["x".repeat(256)], ["caf\u00e9"], ['a"b'], ["a\\b"], [""]])("refuses %j with 422 naming the header", (value) => {
    let err: unknown;
    try {
      idempotencyKeyOf({ "idempotency-key": value });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(AppError);
    expect((err as AppError).status).toBe(422);
    expect(JSON.stringify((err as AppError).detail)).toContain('"Idempotency-Key"');
  });
});
