import { isSensitiveKey, redactText } from "./sensitive";

describe("the secret key-name rule", () => {
  it("catches names that say secret, with any separator or case, and key as the last word", () => {
    for (const k of ["password", "db_password", "apiKey", "API-KEY", "client_secret", "token", "connection_string", "dsn", "key", "ssh_key", "signingKey", "SSH_KEYS"]) {
      expect([k, isSensitiveKey(k)]).toEqual([k, true]);
    }
    for (const k of ["name", "region", "keyboard", "monkey", "key_name", "keepers", "owner"]) expect([k, isSensitiveKey(k)]).toEqual([k, false]);
  });

  it("scrubs given values, URL passwords and key=value secrets from text", () => {
    expect(redactText('role "uAbc12345" does not exist', ["Abc12345"])).toBe('role "u[REDACTED]" does not exist');
    expect(redactText("postgres://u:pw@h/db password=x1 token: y2")).toBe("postgres://u:[REDACTED]@h/db password=[REDACTED] token: [REDACTED]");
  });
});
