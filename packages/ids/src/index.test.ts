import { hasPrefix, isUlid, newId } from "./index";

describe("ids", () => {
  it("mints prefixed ULIDs that sort in creation order", () => {
    const ids = Array.from({ length: 1000 }, () => newId("event"));
    expect(ids.every((id) => hasPrefix("event", id))).toBe(true);
    expect([...ids].sort()).toEqual(ids);
    expect(new Set(ids).size).toBe(ids.length);
  });

  it("validates ULIDs strictly", () => {
    expect(isUlid("01ARZ3NDEKTSV4RRFFQ69G5FAV")).toBe(true);
    expect(isUlid("01arz3ndektsv4rrffq69g5fav")).toBe(true);
    expect(isUlid("01ARZ3NDEKTSV4RRFFQ69G5FA")).toBe(false);
    expect(isUlid("01ARZ3NDEKTSV4RRFFQ69G5FAU!")).toBe(false);
    expect(isUlid("01ARZ3NDEKTSV4RRFFQ69G5FIL")).toBe(false);
    expect(hasPrefix("project", "spc_01ARZ3NDEKTSV4RRFFQ69G5FAV")).toBe(false);
  });
});
