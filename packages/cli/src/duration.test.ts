import { parseDuration } from "./duration";

it("parses seconds by default and common units", () => {
  expect(parseDuration("300")).toBe(300_000);
  expect(parseDuration("30s")).toBe(30_000);
  expect(parseDuration("5m")).toBe(300_000);
  expect(() => parseDuration("soon")).toThrow(expect.objectContaining({ exitCode: 2 }));
});
