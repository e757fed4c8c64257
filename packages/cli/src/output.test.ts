import YAML from "yaml";
import { cell, parseFormat, render, renderKeyValues, renderTable } from "./output";

describe("output", () => {
  const rows = [
    { name: "a", state: "ready", tags: ["x", "y"], n: null },
    { name: "longer-name", state: "pending", tags: [], n: { k: 1 } },
  ];
  const columns = [
    { header: "name", value: (r: (typeof rows)[number]) => r.name },
    { header: "state", value: (r: (typeof rows)[number]) => r.state },
    { header: "tags", value: (r: (typeof rows)[number]) => r.tags },
    { header: "n", value: (r: (typeof rows)[number]) => r.n },
  ];

  it("aligns table columns under upper-case headers and shows empty values as -", () => {
    expect(renderTable(rows, columns)).toBe(
      ["NAME         STATE    TAGS  N", "a            ready    x,y   -", 'longer-name  pending  -     {"k":1}', ""].join("\n"),
    );
  });

  it("keeps a table row on one line", () => {
    expect(cell("line one\n  line two")).toBe("line one line two");
  });

  it("prints json and yaml as the raw data, table through the view", () => {
    const data = { a: 1, b: [1, 2] };
    expect(JSON.parse(render(data, "json", () => "x"))).toEqual(data);
    expect(YAML.parse(render(data, "yaml", () => "x"))).toEqual(data);
    expect(render(data, "table", () => "view\n")).toBe("view\n");
  });

  it("renders key/value blocks aligned", () => {
    expect(renderKeyValues([["id", "x"], ["lifecycle_state", "ready"]])).toBe("id:              x\nlifecycle_state: ready\n");
  });

  it("rejects unknown formats as a usage error", () => {
    expect(parseFormat(undefined)).toBe("table");
    expect(parseFormat("JSON")).toBe("json");
    expect(() => parseFormat("xml")).toThrow(expect.objectContaining({ exitCode: 2 }));
  });
});
