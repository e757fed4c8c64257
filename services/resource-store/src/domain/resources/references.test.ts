import { randomBytes } from "node:crypto";
import { AesGcmCipher, PURPOSES, ValueSealer, isSealed } from "@pragma/crypto";
import { declaresField, findReferences, interpolations, parseDependsOn, resolveConfig } from "./references";

const db = { provider: "pragma", resource: "config", name: "db.main" };

describe("references", () => {
  it("finds object, $ref and interpolated forms at any depth; names may contain dots", () => {
    const sites = findReferences({
      a: { ...db, field: "x" },
      b: [{ z: { $ref: { ...db, field: "y.z" } } }],
      c: "pre ${pragma/config/db.main.outputs.host}:${pragma/random/pw.outputs.value} post",
      d: { provider: "pragma", resource: "config", name: "n" }, // no field: plain config
    });
    expect(sites.map((s) => s.path)).toEqual([["a"], ["b", 0, "z"], ["c"]]);
    expect(sites[1]!.refs[0]).toEqual({ target: db, field: "y.z" });
    expect(interpolations("${pragma/config/db.main.outputs.host}")[0]).toEqual({ target: db, field: "host" });
    expect(sites[2]!.refs).toHaveLength(2);
  });

  it("resolves whole-string references to the output's own type, embedded ones to text", () => {
    const outputs = { host: "h", port: 5432, conn: { a: [1, 2] } };
    const lookup = (ref: { field: string }) => {
      const v = ref.field.split(".").reduce<unknown>((o, k) => (o as Record<string, unknown> | undefined)?.[k], outputs);
      return v === undefined ? ({ found: false } as const) : ({ found: true, value: v } as const);
    };
    const r = resolveConfig({ p: "${pragma/config/db.main.outputs.port}", u: "x://${pragma/config/db.main.outputs.host}:${pragma/config/db.main.outputs.port}", o: { $ref: { ...db, field: "conn.a" } } }, lookup);
    expect(r).toEqual({ ok: true, config: { p: 5432, u: "x://h:5432", o: [1, 2] } });
    const missing = resolveConfig({ q: { ...db, field: "nope" } }, lookup);
    expect(missing).toEqual({ ok: false, ref: { target: db, field: "nope" } });
  });

  it("sensitivity travels: a whole reference keeps the sealed value, an interpolation with one is sealed whole, a sealed reference is resolved inside", () => {
    const sealer = new ValueSealer(new AesGcmCipher(new Map([["k", randomBytes(32)]]), "k", PURPOSES.resourceValue));
    const outputs: Record<string, unknown> = { password: sealer.seal("pw-123456"), host: "h" };
    const lookup = (ref: { field: string }) => (ref.field in outputs ? ({ found: true, value: outputs[ref.field] } as const) : ({ found: false } as const));
    const config = sealer.sealSensitive({
      whole: "${pragma/config/db.main.outputs.password}",
      url: "db://u:${pragma/config/db.main.outputs.password}@${pragma/config/db.main.outputs.host}",
      plain: "x-${pragma/config/db.main.outputs.host}",
      api_token: "t-${pragma/config/db.main.outputs.host}",
    });
    expect(isSealed(config.api_token)).toBe(true);
    const r = resolveConfig(config, lookup, sealer);
    if (!r.ok) throw new Error("unresolved");
    expect(r.config.whole).toBe(outputs.password);
    expect(r.config.plain).toBe("x-h");
    for (const k of ["url", "api_token"]) expect(isSealed(r.config[k])).toBe(true);
    const opened = sealer.openDeep(r.config);
    expect(opened.value).toEqual({ whole: "pw-123456", url: "db://u:pw-123456@h", plain: "x-h", api_token: "t-h" });
    // The password is a part of the interpolated string: an error quoting only it is scrubbed too.
    expect(opened.secrets).toEqual(expect.arrayContaining(["pw-123456", "db://u:pw-123456@h", "t-h"]));
  });

  it("declared outputs follow properties, array items and open maps", () => {
    const closed = { type: "object", properties: { value: { type: "string" }, nested: { type: "object", properties: { a: {} }, additionalProperties: false } }, additionalProperties: false };
    expect(declaresField(closed, "value")).toBe(true);
    expect(declaresField(closed, "nested.a")).toBe(true);
    expect(declaresField(closed, "nested.b")).toBe(false);
    expect(declaresField(closed, "other")).toBe(false);
    expect(declaresField({ type: "object", additionalProperties: {} }, "anything.deep")).toBe(true);
  });

  it("depends_on entries are provider/resource/name", () => {
    expect(parseDependsOn("pragma/config/a.b")).toEqual({ provider: "pragma", resource: "config", name: "a.b" });
    expect(parseDependsOn("pragma/config")).toBeNull();
    expect(parseDependsOn("Bad/config/x")).toBeNull();
  });
});
