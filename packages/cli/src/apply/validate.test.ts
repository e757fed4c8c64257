import type { SourceDocument } from "./parse";
import { formatProblem } from "./problem";
import { validateDocuments } from "./validate";

let counter = 0;
const doc = (value: unknown, file = "r.yaml"): SourceDocument => ({ source: { file, document: ++counter }, value });
beforeEach(() => {
  counter = 0;
});

const cfg = (name: string, config: Record<string, unknown> = {}, extra: Record<string, unknown> = {}) => ({
  provider: "pragma",
  resource: "config",
  name,
  config,
  ...extra,
});

describe("validateDocuments", () => {
  it("takes drift_policy (an apply field) and drops what the API writes, drift included, so `get -o yaml` re-applies", () => {
    const fromGet = cfg("app", { v: 1 }, {
      id: "resource:pragma_config_app",
      drift_policy: "report",
      drift: { detected_at: "2026-12-05T00:00:00.000Z", fields: ["exists"] },
      lifecycle_state: "ready",
      outputs: { v: 1 },
      provisioned: true,
      updated_at: "2026-12-05T00:00:00.000Z",
    });
    const { resources, problems } = validateDocuments([doc(fromGet)]);
    expect(problems).toEqual([]);
    expect(resources[0]!.body).toEqual({ provider: "pragma", resource: "config", name: "app", config: { v: 1 }, drift_policy: "report" });
    expect(validateDocuments([doc(cfg("x", {}, { drift_policy: "ignore" }))]).problems.map(formatProblem)[0]).toContain("drift_policy");
  });

  it("orders by depends_on, dependencies and config references together", () => {
    const { resources, problems } = validateDocuments([
      doc(cfg("app", { url: "${pragma/config/db.outputs.url}" }, { depends_on: ["pragma/config/net"] })),
      doc(cfg("db", {}, { dependencies: [{ provider: "pragma", resource: "config", name: "net" }] })),
      doc(cfg("net")),
    ]);
    expect(problems).toEqual([]);
    expect(resources.map((r) => r.key)).toEqual(["pragma/config/net", "pragma/config/db", "pragma/config/app"]);
    expect(resources[2]!.dependsOn).toEqual(["pragma/config/net", "pragma/config/db"]);
    expect(resources[2]!.id).toBe("resource:pragma_config_app");
  });

  it("reports every problem of every document at once, each with file and document number", () => {
    const { resources, problems } = validateDocuments([
      doc({ provider: "Bad", resource: "config", name: "x", config: {} }, "a.yaml"),
      doc("just a string", "a.yaml"),
      doc(cfg("ok", {}, { depend_on: ["x"] }), "b.yaml"),
      doc(cfg("dep", {}, { depends_on: ["pragma/config"] }), "b.yaml"),
      doc(cfg("ref", { v: "${pragma/config.outputs.x}" }), "b.yaml"),
    ]);
    expect(resources).toEqual([]);
    expect(problems.map(formatProblem)).toEqual([
      "a.yaml document 1: provider: must match ^[a-z][a-z0-9-]*$",
      "a.yaml document 2: expected a mapping with provider, resource, name and config",
      expect.stringMatching(/^b\.yaml document 3: unknown field "depend_on"/),
      'b.yaml document 4: depends_on[0]: "pragma/config" is not provider/resource/name',
      expect.stringMatching(/^b\.yaml document 5: config\.v: malformed reference/),
    ]);
  });

  it("reports missing fields by name", () => {
    const { problems } = validateDocuments([doc({ provider: "pragma", config: {} })]);
    expect(problems.map((p) => p.message)).toEqual([expect.stringMatching(/^resource: /), expect.stringMatching(/^name: /)]);
  });

  it("finds duplicates across files and says where the first one is", () => {
    const { problems } = validateDocuments([doc(cfg("a"), "one.yaml"), doc(cfg("a"), "two.yaml")]);
    expect(problems.map(formatProblem)).toEqual(["two.yaml document 2: duplicate resource pragma/config/a (first defined in one.yaml document 1)"]);
  });

  it("finds cycles built from references inside config", () => {
    const { problems } = validateDocuments([
      doc(cfg("a", { x: { $ref: { provider: "pragma", resource: "config", name: "b", field: "k" } } })),
      doc(cfg("b", { y: "prefix-${pragma/config/a.outputs.k}" })),
    ]);
    expect(problems).toHaveLength(1);
    expect(formatProblem(problems[0]!)).toBe(
      "r.yaml document 1: dependency cycle: pragma/config/a → pragma/config/b → pragma/config/a (r.yaml document 1, r.yaml document 2)",
    );
  });

  it("drops server-written fields so `get -o yaml` output can be re-applied", () => {
    const { resources, problems } = validateDocuments([
      doc({ ...cfg("a"), id: "resource:pragma_config_a", lifecycle_state: "ready", outputs: { k: 1 }, provisioned: true }),
    ]);
    expect(problems).toEqual([]);
    expect(resources[0]!.body).toEqual({ provider: "pragma", resource: "config", name: "a", config: {} });
  });
});
