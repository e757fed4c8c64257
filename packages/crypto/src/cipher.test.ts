import { randomBytes } from "node:crypto";
import { AesGcmCipher, PURPOSES, parseKeyList } from "./cipher";

const k = () => randomBytes(32);
const P = PURPOSES.registryPassword;

describe("AesGcmCipher", () => {
  it("round-trips under the active key and names that key in the ciphertext", () => {
    const c = new AesGcmCipher(new Map([["a", k()]]), "a", P);
    const sealed = c.encrypt("hunter2");
    expect(sealed).toMatch(/^v1:a:/);
    expect(sealed).not.toContain("hunter2");
    expect(c.encrypt("hunter2")).not.toBe(sealed);
    expect(c.decrypt(sealed)).toBe("hunter2");
    expect(c.keyIdOf(sealed)).toBe("a");
  });

  it("reads old ciphertexts after rotation and refuses a tampered one", () => {
    const a = k();
    const old = new AesGcmCipher(new Map([["a", a]]), "a", P).encrypt("pw");
    const rotated = new AesGcmCipher(new Map([["a", a], ["b", k()]]), "b", P);
    expect(rotated.decrypt(old)).toBe("pw");
    expect(rotated.keyIdOf(rotated.encrypt("pw"))).toBe("b");
    const parts = old.split(":");
    parts[4] = Buffer.from("px").toString("base64");
    expect(() => rotated.decrypt(parts.join(":"))).toThrow();
    expect(() => new AesGcmCipher(new Map([["b", k()]]), "b", P).decrypt(old)).toThrow(/key a/);
  });

  it("a ciphertext sealed for one purpose does not open for another", () => {
    const keys = new Map([["a", k()]]);
    const sealed = new AesGcmCipher(keys, "a", PURPOSES.resourceValue).encrypt("pw");
    expect(() => new AesGcmCipher(keys, "a", PURPOSES.registryPassword).decrypt(sealed)).toThrow();
  });
});

describe("parseKeyList", () => {
  it("parses kid:base64 entries in order", () => {
    const keys = parseKeyList(`one:${k().toString("base64")}, two:${k().toString("base64")}`);
    expect([...keys.keys()]).toEqual(["one", "two"]);
  });

  it("names the bad entry without echoing key material", () => {
    const short = randomBytes(16).toString("base64");
    let message = "";
    try {
      parseKeyList(`x:${short}`);
    } catch (err) {
      message = (err as Error).message;
    }
    expect(message).toMatch(/key x must decode to 32 bytes/);
    expect(message).not.toContain(short);
  });
});
