import { CONFIG_MAX_DEPTH, ConfigObject, findUnsafeInput, unsafeTextReason } from "./input-safety";

describe("input safety", () => {
  it("accepts a surrogate pair (an emoji) and rejects either half alone", () => {
    expect(unsafeTextReason("ok 😀")).toBeUndefined();
    expect(unsafeTextReason("\ud83d")).toMatch(/surrogate/);
    expect(unsafeTextReason("x\ude00")).toMatch(/surrogate/);
    expect(unsafeTextReason("a\u0000b")).toMatch(/NUL/);
  });

  it("counts depth as levels of objects and arrays, and stops at the limit exactly", () => {
    expect(findUnsafeInput("x", 0)).toBeUndefined();
    expect(findUnsafeInput({ a: [1] }, 2)).toBeUndefined();
    expect(findUnsafeInput({ a: [1] }, 1)).toEqual({ path: ["a"], message: "nests deeper than 1 levels", type: "too_deep" });
  });

  it("walks a million levels without recursion", () => {
    const deep = JSON.parse(`${"[".repeat(1_000_000)}${"]".repeat(1_000_000)}`);
    expect(findUnsafeInput(deep, CONFIG_MAX_DEPTH)?.type).toBe("too_deep");
  });

  it("ConfigObject names the path of the first problem", () => {
    const r = ConfigObject().safeParse({ a: { b: ["ok", "bad\u0000"] } });
    expect(r.success).toBe(false);
    expect(r.error!.issues[0]).toMatchObject({ path: ["a", "b", 1], message: expect.stringMatching(/NUL/) });
  });
});
