import { ulid } from "ulid";
import { hasPrefix, idsBefore, isUlid, newId, pooledRandom } from "./index";

describe("ids", () => {
  it("mints prefixed ULIDs that sort in creation order", () => {
    const ids = Array.from({ length: 1000 }, () => newId("event"));
    expect(ids.every((id) => hasPrefix("event", id))).toBe(true);
    expect([...ids].sort()).toEqual(ids);
    expect(new Set(ids).size).toBe(ids.length);
  });

  it("idsBefore(t) sorts above every id minted before t and below every id minted from t on", () => {
    const earlier = newId("event");
    const t = new Date(Date.now() + 2);
    const boundary = idsBefore("event", t);
    const later = `evt_${ulid(t.getTime() + 1)}`;
    expect(earlier < boundary).toBe(true);
    expect(boundary < later).toBe(true);
    expect(boundary.startsWith("evt_")).toBe(true);
  });

  it("validates ULIDs strictly", () => {
    expect(isUlid("01ARZ3NDEKTSV4RRFFQ69G5FAV")).toBe(true);
    expect(isUlid("01arz3ndektsv4rrffq69g5fav")).toBe(true);
    expect(isUlid("01ARZ3NDEKTSV4RRFFQ69G5FA")).toBe(false);
    expect(isUlid("01ARZ3NDEKTSV4RRFFQ69G5FAU!")).toBe(false);
    expect(isUlid("01ARZ3NDEKTSV4RRFFQ69G5FIL")).toBe(false);
    // Past the 48-bit time range: the first character is at most 7.
    expect(isUlid("7ZZZZZZZZZZZZZZZZZZZZZZZZZ")).toBe(true);
    expect(isUlid("8ZZZZZZZZZZZZZZZZZZZZZZZZZ")).toBe(false);
    expect(isUlid("ZZZZZZZZZZZZZZZZZZZZZZZZZZ")).toBe(false);
    expect(hasPrefix("project", "prj_81ARZ3NDEKTSV4RRFFQ69G5FAV")).toBe(false);
    expect(hasPrefix("project", "spc_01ARZ3NDEKTSV4RRFFQ69G5FAV")).toBe(false);
  });

  it("pooled randomness is in [0, 1) and spreads over all 32 ULID characters", () => {
    const seen = new Array(32).fill(0);
    for (let i = 0; i < 20_000; i++) {
      const x = pooledRandom();
      expect(x >= 0 && x < 1).toBe(true);
      seen[Math.floor(x * 32)]++;
    }
    // 625 expected per character; a stuck or biased source would leave some far off.
    expect(Math.min(...seen)).toBeGreaterThan(450);
    expect(Math.max(...seen)).toBeLessThan(800);
  });
});
