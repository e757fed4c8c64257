import type { ResourceDefinition } from "@pragma/contracts";
import { outputRedactor, sensitiveKeys } from "./sensitive-outputs";

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
