import { randomInt } from "node:crypto";
import { z } from "@pragma/provider-sdk";
import { isAlreadyExists } from "../data/sql-errors";

/** Names we create on a server: quoted anyway, but kept to what every tool handles unquoted. */
export const identifier = (max = 63) =>
  z.string().regex(new RegExp(`^[A-Za-z_][A-Za-z0-9_$]{0,${max - 1}}$`), `must be a letter or _ followed by letters, digits, _ or $ (at most ${max} characters)`);

const ALNUM = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

/** Alphanumeric only, so the password sits in a URL or SQL literal without escaping surprises. */
export function generatePassword(length: number): string {
  let out = "";
  for (let i = 0; i < length; i++) out += ALNUM[randomInt(ALNUM.length)];
  return out;
}

export function connectionUrl(scheme: string, user: string, password: string, host: string, port: number, database: string): string {
  const h = host.includes(":") ? `[${host}]` : host;
  return `${scheme}://${encodeURIComponent(user)}:${encodeURIComponent(password)}@${h}:${port}/${encodeURIComponent(database)}`;
}

/**
 * Runs a CREATE and adopts the object when it appeared meanwhile (see `isAlreadyExists`):
 * the caller then brings the existing object to the desired state (ALTER ... PASSWORD,
 * OWNER, ...), so a create racing another creator converges instead of failing.
 * Returns whether this call created it.
 */
export async function createOrAdopt(create: () => Promise<unknown>): Promise<boolean> {
  try {
    await create();
    return true;
  } catch (err) {
    if (!isAlreadyExists(err)) throw err;
    return false;
  }
}
