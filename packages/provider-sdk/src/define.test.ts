import { PermanentError, RetryableError, defineProvider, defineResourceType, isPermanent, redactText, sensitive, typeDefinitions, z } from "./index";

const t = defineResourceType({
  name: "role",
  description: "a role",
  config: z.object({ name: z.string(), token: sensitive(z.string()).optional(), size: z.number().default(3) }),
  outputs: z.object({ name: z.string(), password: sensitive(z.string()), url: z.string() }),
  sensitiveOutputs: ["url"],
  async create(ctx) {
    return { name: ctx.config.name, password: "p", url: "u" };
  },
  async update(ctx) {
    return { name: ctx.config.name, password: "p", url: "u" };
  },
  async delete() {},
});

describe("provider-sdk", () => {
  it("collects sensitive outputs from marks and the explicit list, and config marks through wrappers", () => {
    expect(t.sensitiveOutputs.sort()).toEqual(["password", "url"]);
    expect(t.sensitiveConfig).toEqual(["token"]);
  });

  it("exports JSON Schema with sensitive fields marked, defaults optional in config", () => {
    const [def] = typeDefinitions(defineProvider({ name: "pg", types: [t] }));
    expect(def).toMatchObject({ provider: "pg", resource: "role", sensitive_outputs: expect.arrayContaining(["password", "url"]) });
    const props = def!.schema.properties as Record<string, Record<string, unknown>>;
    expect(props.token).toMatchObject({ "x-sensitive": true, writeOnly: true });
    expect(def!.schema.required).toEqual(["name"]);
    const out = def!.outputs_schema.properties as Record<string, Record<string, unknown>>;
    expect(out.password).toMatchObject({ "x-sensitive": true });
    expect(out.password!.writeOnly).toBeUndefined();
  });

  it("rejects bad names and duplicate types", () => {
    expect(() => defineProvider({ name: "Bad", types: [] })).toThrow();
    expect(() => defineProvider({ name: "ok", types: [t, t] })).toThrow(/duplicate/);
  });

  it("errors carry the permanent flag the messaging layer reads", () => {
    expect(isPermanent(new PermanentError("x"))).toBe(true);
    expect(isPermanent(new RetryableError("x"))).toBe(false);
    expect(isPermanent(new Error("x"))).toBe(false);
  });

  it("redacts known secrets and passwords inside URLs", () => {
    expect(redactText("login hunter22 failed for postgresql://bob:s3cr3t@db:5432/x", ["hunter22"])).toBe("login [REDACTED] failed for postgresql://bob:[REDACTED]@db:5432/x");
  });
});
