import { randomBytes } from "node:crypto";
import { AesGcmPasswordCipher, parseKeyList } from "./password-cipher";

const k = () => randomBytes(32);

describe("AesGcmPasswordCipher", () => {
  it("round-trips under the active key and names that key in the ciphertext", () => {
    const c = new AesGcmPasswordCipher(new Map([["a", k()]]), "a");
    const sealed = c.encrypt("hunter2");
    expect(sealed).toMatch(/^v1:a:/);
    expect(sealed).not.toContain("hunter2");
    expect(c.encrypt("hunter2")).not.toBe(sealed);
    expect(c.decrypt(sealed)).toBe("hunter2");
    expect(c.keyIdOf(sealed)).toBe("a");
  });

  it("reads old ciphertexts after rotation and refuses a tampered one", () => {
    const a = k();
    const old = new AesGcmPasswordCipher(new Map([["a", a]]), "a").encrypt("pw");
    const rotated = new AesGcmPasswordCipher(new Map([["a", a], ["b", k()]]), "b");
    expect(rotated.decrypt(old)).toBe("pw");
    expect(rotated.keyIdOf(rotated.encrypt("pw"))).toBe("b");
    const parts = old.split(":");
    parts[4] = Buffer.from("px").toString("base64");
    expect(() => rotated.decrypt(parts.join(":"))).toThrow();
    expect(() => new AesGcmPasswordCipher(new Map([["b", k()]]), "b").decrypt(old)).toThrow(/key a/);
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
