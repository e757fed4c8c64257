import { createLogger } from "@pragma/logger";
import { RevokedKeys, type RevokedKey } from "./revoked-keys";

const logger = createLogger({ service: "test", level: "silent" });
const flush = () => new Promise((r) => setTimeout(r, 5));

function make(list: (since: Date) => Promise<RevokedKey[]>, now = () => 1_000_000_000) {
  return new RevokedKeys({ list, retainMs: 60_000, resyncMs: 60_000, retryMs: 1, logger, now });
}

describe("RevokedKeys", () => {
  it("is not ready until the list was read after the queue was bound, and then knows its keys", async () => {
    const asked: Date[] = [];
    const keys = make(async (since) => (asked.push(since), [{ key_id: "key_a", revoked_at: new Date(1_000_000_000 - 1_000).toISOString() }]));
    expect(keys.ready()).toBe(false);
    keys.reconnected();
    expect(await keys.whenReady(1_000)).toBe(true);
    expect(keys.isRevoked("key_a")).toBe(true);
    expect(keys.isRevoked("key_b")).toBe(false);
    // One retention window back: no token of a key revoked earlier can still be alive.
    expect(asked[0]!.getTime()).toBe(1_000_000_000 - 60_000);
    keys.stop();
  });

  it("drops a key once no token issued before its revocation can be alive", () => {
    let now = 1_000_000_000;
    const keys = make(async () => [], () => now);
    keys.add("key_a", new Date(now).toISOString());
    expect(keys.isRevoked("key_a")).toBe(true);
    now += 60_001;
    expect(keys.isRevoked("key_a")).toBe(false);
    // Announced after its retention: nothing to refuse any more.
    keys.add("key_old", new Date(now - 120_000).toISOString());
    expect(keys.isRevoked("key_old")).toBe(false);
  });

  it("a read that started before a reconnection does not make the list ready; the next read does", async () => {
    const pending: ((v: RevokedKey[]) => void)[] = [];
    const keys = make(() => new Promise((resolve) => pending.push(resolve)));
    keys.reconnected();
    await flush();
    expect(pending).toHaveLength(1);
    keys.reconnected(); // the connection was re-made while the first read was out
    pending[0]!([]);
    await flush();
    expect(keys.ready()).toBe(false);
    expect(pending).toHaveLength(2);
    pending[1]!([{ key_id: "key_late", revoked_at: new Date(1_000_000_000).toISOString() }]);
    expect(await keys.whenReady(1_000)).toBe(true);
    expect(keys.isRevoked("key_late")).toBe(true);
    keys.stop();
  });

  it("retries a failed read and stays not ready meanwhile; whenReady gives up after its timeout", async () => {
    let fail = true;
    const keys = make(async () => {
      if (fail) throw new Error("registry unavailable");
      return [];
    });
    keys.reconnected();
    expect(await keys.whenReady(30)).toBe(false);
    fail = false;
    expect(await keys.whenReady(1_000)).toBe(true);
    keys.stop();
  });
});
