import { randomBytes } from "node:crypto";
import { AesGcmCipher, PURPOSES } from "./cipher";
import { ValueSealer, containsSealed, isSealed, redactSealed } from "./sealed";

const sealer = new ValueSealer(new AesGcmCipher(new Map([["a", randomBytes(32)]]), "a", PURPOSES.resourceValue));

describe("ValueSealer", () => {
  it("seals values under secret-named and declared keys, leaves the rest, and opens them again", () => {
    const config = { name: "n", value: "TopSecret1", nested: { db_password: "pw-12345", list: [{ token: 7 }] } };
    const sealed = sealer.sealSensitive(config, ["value"]);
    expect(sealed.name).toBe("n");
    expect(isSealed(sealed.value)).toBe(true);
    expect(isSealed(sealed.nested.db_password)).toBe(true);
    expect(isSealed(sealed.nested.list[0]!.token)).toBe(true);
    expect(JSON.stringify(sealed)).not.toMatch(/TopSecret1|pw-12345/);
    const opened = sealer.openDeep(sealed);
    expect(opened.value).toEqual(config);
    expect(opened.secrets.sort()).toEqual(["7", "TopSecret1", "pw-12345"]);
    expect(redactSealed(sealed)).toEqual({ name: "n", value: "[REDACTED]", nested: { db_password: "[REDACTED]", list: [{ token: "[REDACTED]" }] } });
    expect(containsSealed(sealed)).toBe(true);
    expect(containsSealed(config)).toBe(false);
  });

  it("seals a string that echoes a known secret, keeping the secret as a part; sealing twice changes nothing", () => {
    const out = sealer.sealSensitive({ url: "db://u:pw-12345@h", other: "x" }, [], ["pw-12345"]);
    expect(isSealed(out.url)).toBe(true);
    expect(out.other).toBe("x");
    expect(sealer.openDeep(out).secrets.sort()).toEqual(["db://u:pw-12345@h", "pw-12345"]);
    expect(sealer.sealSensitive(out, ["url"])).toEqual(out);
  });
});
