import { orderResources } from "./order";

const n = (key: string, ...dependsOn: string[]) => ({ key, dependsOn });

describe("orderResources", () => {
  it("puts dependencies first and otherwise keeps the written order", () => {
    const { ordered, cycles } = orderResources([n("app", "db", "cache"), n("cache"), n("db", "net"), n("net"), n("other")]);
    expect(cycles).toEqual([]);
    expect(ordered.map((x) => x.key)).toEqual(["cache", "net", "db", "app", "other"]);
  });

  it("ignores dependencies that are not among the nodes (they already exist on the server)", () => {
    expect(orderResources([n("b", "elsewhere"), n("a")]).ordered.map((x) => x.key)).toEqual(["b", "a"]);
  });

  it("names each cycle as a real path and leaves everything on or behind it unordered", () => {
    const { ordered, cycles } = orderResources([n("a", "b"), n("b", "c"), n("c", "a"), n("d", "a"), n("e")]);
    expect(ordered.map((x) => x.key)).toEqual(["e"]);
    expect(cycles).toEqual([["a", "b", "c", "a"]]);
  });

  it("finds self-references and separate cycles", () => {
    const { cycles } = orderResources([n("s", "s"), n("x", "y"), n("y", "x")]);
    expect(cycles).toEqual([["s", "s"], ["x", "y", "x"]]);
  });

  it("reports the cycle itself when a tail leads into it", () => {
    const { cycles } = orderResources([n("tail", "p"), n("p", "q"), n("q", "p")]);
    expect(cycles).toEqual([["p", "q", "p"]]);
  });
});
