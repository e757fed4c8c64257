import { versionAt } from "./deps";

it("versions are YYYYMMDD.HHMMSS in UTC, and the next free second moves forward", () => {
  const at = new Date("2026-12-05T09:59:59.400Z");
  expect(versionAt(at)).toBe("20261205.095959");
  expect(versionAt(at, 1)).toBe("20261205.100000");
});
