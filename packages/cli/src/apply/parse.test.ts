import { parseDocuments } from "./parse";

describe("parseDocuments", () => {
  it("returns every document with its 1-based position, skipping empty ones but counting them", () => {
    const text = "provider: a\n---\n# only a comment\n---\nprovider: b\n---\n";
    const { documents, problems } = parseDocuments(text, "f.yaml");
    expect(problems).toEqual([]);
    expect(documents).toEqual([
      { source: { file: "f.yaml", document: 1 }, value: { provider: "a" } },
      { source: { file: "f.yaml", document: 3 }, value: { provider: "b" } },
    ]);
  });

  it("reports invalid YAML with the document and line, and keeps the valid documents", () => {
    const { documents, problems } = parseDocuments("provider: a\n---\nname: [unclosed\n", "bad.yaml");
    expect(documents).toHaveLength(1);
    expect(problems).toHaveLength(1);
    expect(problems[0]!.source).toEqual({ file: "bad.yaml", document: 2 });
    expect(problems[0]!.message).toMatch(/^invalid YAML: line \d+, column \d+/);
  });

  it("rejects duplicate keys rather than silently keeping the last", () => {
    const { problems } = parseDocuments("name: a\nname: b\n", "dup.yaml");
    expect(problems).toHaveLength(1);
    expect(problems[0]!.message).toMatch(/invalid YAML/);
  });

  it("treats an empty file as a problem", () => {
    expect(parseDocuments("", "empty.yaml").problems[0]!.message).toBe("the file holds no documents");
    expect(parseDocuments("---\n", "empty.yaml").problems[0]!.message).toBe("the file holds no documents");
  });

  it("accepts JSON, which is YAML", () => {
    expect(parseDocuments('{"provider": "pragma"}', "r.json").documents[0]!.value).toEqual({ provider: "pragma" });
  });
});
