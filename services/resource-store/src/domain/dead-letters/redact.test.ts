import { REDACTED, isSensitiveKey, redactText, redactValue, redactWorkPayload } from "./redact";

describe("dead-letter redaction", () => {
  it.each(["password", "db_password", "Secret", "apiKey", "API-KEY", "access_token", "connection_string", "connectionString", "client_secret", "dsn", "private_key"])(
    "treats %s as sensitive",
    (k) => expect(isSensitiveKey(k)).toBe(true),
  );

  it.each(["name", "owner", "encoding", "keepers", "length", "host"])("leaves %s alone", (k) => expect(isSensitiveKey(k)).toBe(false));

  it("redacts sensitive keys at any depth, whatever their value's shape, and URL passwords in other strings", () => {
    const out = redactValue({
      name: "db",
      nested: { list: [{ token: "t-1" }, { api_key: { v: 1 } }], url: "postgresql://bob:pw@host:5432/x?sslmode=require" },
      password: null,
    });
    expect(out).toEqual({
      name: "db",
      nested: { list: [{ token: REDACTED }, { api_key: REDACTED }], url: `postgresql://bob:${REDACTED}@host:5432/x?sslmode=require` },
      password: null,
    });
  });

  it("redacts declared top-level fields and scrubs their values out of other strings", () => {
    const { payload, secrets } = redactWorkPayload(
      { event_id: "evt_1", config: { value: "s3cr3t-value", note: "copy of s3cr3t-value" }, outputs: { value: "out-secret", host: "h" }, previous_config: null },
      { config: ["value"], outputs: ["value"] },
    );
    expect(payload).toEqual({ event_id: "evt_1", config: { value: REDACTED, note: `copy of ${REDACTED}` }, outputs: { value: REDACTED, host: "h" }, previous_config: null });
    expect(secrets).toEqual(expect.arrayContaining(["s3cr3t-value", "out-secret"]));
  });

  it("scrubs error text: known values, URL passwords, key=value secrets", () => {
    expect(redactText("auth failed for hunter22 at mysql://root:pw1@db/x; password=abc token: 'xyz'", ["hunter22"])).toBe(
      `auth failed for ${REDACTED} at mysql://root:${REDACTED}@db/x; password=${REDACTED} token: ${REDACTED}`,
    );
    expect(redactText("(password=kv)")).toBe(`(password=${REDACTED})`);
    expect(redactText('role "no_such_role" does not exist')).toBe('role "no_such_role" does not exist');
  });
});
