import type { ApiClient } from "../client";
import { describeResource, listAll, type ResourceView } from "./resources";

function pagedClient(pages: Record<string, { items: unknown[]; next?: string }>) {
  const seen: (string | undefined)[] = [];
  const client = {
    async request(_m: string, _p: string, o: { query: { cursor?: string } }) {
      seen.push(o.query.cursor);
      const page = pages[o.query.cursor ?? ""]!;
      return { status: 200, headers: new Headers(page.next ? { next_cursor: page.next } : {}), body: page.items };
    },
  };
  return { client: client as unknown as ApiClient, seen };
}

describe("listAll", () => {
  it("follows next_cursor until the last page", async () => {
    const { client, seen } = pagedClient({ "": { items: [1, 2], next: "c1" }, c1: { items: [3], next: "c2" }, c2: { items: [4] } });
    expect(await listAll(client, "/resources/", {})).toEqual([1, 2, 3, 4]);
    expect(seen).toEqual([undefined, "c1", "c2"]);
  });

  it("stops when a server repeats a cursor instead of looping forever", async () => {
    const { client } = pagedClient({ "": { items: [1], next: "c1" }, c1: { items: [2], next: "c1" } });
    expect(await listAll(client, "/resources/", {})).toEqual([1, 2]);
  });
});

describe("describeResource", () => {
  it("shows state, error, dependencies, config and outputs", () => {
    const r: ResourceView = {
      id: "resource:pragma_config_b",
      provider: "pragma",
      resource: "config",
      name: "b",
      lifecycle_state: "failed",
      error: "boom",
      dependencies: [{ provider: "pragma", resource: "config", name: "a" }],
      config: { url: "${pragma/config/a.outputs.key}" },
      outputs: {},
    };
    const text = describeResource(r);
    expect(text).toMatch(/^State:\s+failed$/m);
    expect(text).toMatch(/^Error:\s+boom$/m);
    expect(text).toContain("Dependencies:\n  - pragma/config/a\n");
    expect(text).toContain("Config:\n  url: ${pragma/config/a.outputs.key}\n");
    expect(text).toContain("Outputs:\n  (none)\n");
  });
});
