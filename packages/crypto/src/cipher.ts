import { createCipheriv, createDecipheriv, randomBytes } from "node:crypto";

/**
 * AES-256-GCM for secrets at rest (the registry's database passwords, the store's
 * sensitive resource values). Every ciphertext names the key that sealed it
 * (`v1:<kid>:<iv>:<tag>:<ct>`, base64 parts) so keys can rotate: new writes use the
 * active key, old ciphertexts stay readable while their key is configured, and a
 * re-encrypt pass moves them onto the active key.
 */
export interface Cipher {
  encrypt(plaintext: string): string;
  decrypt(sealed: string): string;
  /** Key id a ciphertext was sealed with. */
  keyIdOf(sealed: string): string;
  readonly activeKeyId: string;
}

const VERSION = "v1";

/** What a ciphertext is for; bound into it as associated data. */
export const PURPOSES = {
  registryPassword: "pragma.registry.database-password",
  resourceValue: "pragma.store.sensitive-value",
} as const;

export class AesGcmCipher implements Cipher {
  readonly activeKeyId: string;
  private readonly keys: ReadonlyMap<string, Buffer>;
  // Binds the ciphertext to its purpose, so a value sealed for one use of the same key
  // (a resource's secret) cannot be passed off as another (a database password).
  private readonly aad: Buffer;

  constructor(keys: ReadonlyMap<string, Buffer>, activeKeyId: string, purpose: string) {
    for (const [kid, key] of keys) {
      if (key.length !== 32) throw new Error(`encryption key ${kid} must be 32 bytes`);
      if (kid.includes(":")) throw new Error(`encryption key id ${kid} must not contain ':'`);
    }
    if (!keys.has(activeKeyId)) throw new Error(`active encryption key ${activeKeyId} is not configured`);
    this.keys = keys;
    this.activeKeyId = activeKeyId;
    this.aad = Buffer.from(purpose);
  }

  encrypt(plaintext: string): string {
    const key = this.keys.get(this.activeKeyId)!;
    const iv = randomBytes(12);
    const cipher = createCipheriv("aes-256-gcm", key, iv);
    cipher.setAAD(this.aad);
    const ct = Buffer.concat([cipher.update(plaintext, "utf8"), cipher.final()]);
    const tag = cipher.getAuthTag();
    return [VERSION, this.activeKeyId, iv.toString("base64"), tag.toString("base64"), ct.toString("base64")].join(":");
  }

  decrypt(sealed: string): string {
    const { kid, iv, tag, ct } = parse(sealed);
    const key = this.keys.get(kid);
    if (!key) throw new Error(`ciphertext was sealed with key ${kid}, which is not configured`);
    const decipher = createDecipheriv("aes-256-gcm", key, iv);
    decipher.setAAD(this.aad);
    decipher.setAuthTag(tag);
    return Buffer.concat([decipher.update(ct), decipher.final()]).toString("utf8");
  }

  keyIdOf(sealed: string): string {
    return parse(sealed).kid;
  }
}

function parse(sealed: string): { kid: string; iv: Buffer; tag: Buffer; ct: Buffer } {
  const parts = sealed.split(":");
  if (parts.length !== 5 || parts[0] !== VERSION) throw new Error("unrecognised ciphertext format");
  const [, kid, iv, tag, ct] = parts as [string, string, string, string, string];
  return { kid, iv: Buffer.from(iv, "base64"), tag: Buffer.from(tag, "base64"), ct: Buffer.from(ct, "base64") };
}

/** Parses `kid:base64(32 bytes),kid2:...`; throws with a message naming the bad entry (never the key). */
export function parseKeyList(value: string): Map<string, Buffer> {
  const keys = new Map<string, Buffer>();
  for (const raw of value.split(",").map((s) => s.trim()).filter(Boolean)) {
    const i = raw.indexOf(":");
    if (i <= 0) throw new Error("each entry must be <kid>:<base64 key>");
    const kid = raw.slice(0, i).trim();
    if (!/^[A-Za-z0-9_.-]{1,64}$/.test(kid)) throw new Error(`key id "${kid}" must be 1-64 of A-Z a-z 0-9 _ . -`);
    const key = Buffer.from(raw.slice(i + 1).trim(), "base64");
    if (key.length !== 32) throw new Error(`key ${kid} must decode to 32 bytes, got ${key.length}`);
    if (keys.has(kid)) throw new Error(`key id ${kid} is listed twice`);
    keys.set(kid, key);
  }
  if (keys.size === 0) throw new Error("no keys given");
  return keys;
}
