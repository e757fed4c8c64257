import type { ResourceDefinition } from "@pragma/contracts";
import { outputRedactor, resourceRedactor, sensitiveKeys } from "./sensitive-outputs";

const role: ResourceDefinition = {
  provider: "postgres",
  resource: "role",
  description: "",
  schema: {},
  outputs_schema: { type: "object", properties: { name: { type: "string" }, password: { type: "string", "x-sensitive": true }, dsn_note: { type: "string" }, token: { type: "string", writeOnly: true } } },
  tags: null,
};

describe("sensitive outputs", () => {
  it("reads x-sensitive and writeOnly marks from the outputs schema", () => {
    expect(sensitiveKeys(role.outputs_schema).sort()).toEqual(["password", "token"]);
    expect(sensitiveKeys({ type: "object" })).toEqual([]);
  });

  it("redacts what the type declares, and keys named like secrets", () => {
    const defs: ResourceDefinition[] = [role, { ...role, resource: "handle", outputs_schema: { type: "object", properties: { handle: { type: "string", "x-sensitive": true } } } }];
    const redact = outputRedactor(defs);
    expect(redact("postgres", "role", { name: "app", password: "pw-1", note: "kept", token: null })).toEqual({ name: "app", password: "[REDACTED]", note: "kept", token: null });
    expect(redact("postgres", "handle", { handle: "h", user_password: "p", host: "x" })).toEqual({ handle: "[REDACTED]", user_password: "[REDACTED]", host: "x" });
  });

  it("falls back to key names for a type the catalogue does not know, or without a catalogue", () => {
    for (const redact of [outputRedactor([role]), outputRedactor(null)]) {
      expect(redact("custom", "thing", { host: "h", api_key: "k", connection_string: "c" })).toEqual({ host: "h", api_key: "[REDACTED]", connection_string: "[REDACTED]" });
    }
  });

  it("returns the same object when nothing is sensitive", () => {
    const outputs = { name: "app" };
    expect(outputRedactor([role])("postgres", "role", outputs)).toBe(outputs);
  });
});

describe("sensitive config", () => {
  it("redacts declared config fields, secret-named keys at any depth and sealed values, like outputs", () => {
    const secret: ResourceDefinition = { ...role, provider: "pragma", resource: "secret", schema: { type: "object", properties: { value: { type: "string", writeOnly: true } } } };
    const redact = resourceRedactor([secret]).config;
    expect(redact("pragma", "secret", { value: "TopSecret", note: "n" })).toEqual({ value: "[REDACTED]", note: "n" });
    expect(redact("pragma", "config", { url: "pragma:sealed:v1:k:a:b:c", deep: { db: { password: "p" } }, list: ["pragma:sealed:v1:k:a:b:c", "x"] })).toEqual({
      url: "[REDACTED]",
      deep: { db: { password: "[REDACTED]" } },
      list: ["[REDACTED]", "x"],
    });
  });
});
