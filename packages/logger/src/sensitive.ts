/**
 * The one rule for "this names a secret" and for scrubbing secrets out of free text,
 * shared by the logger's users, the resource store (API answers, dead letters, sealing
 * at rest) and the provider workers (errors, log lines, outputs). The logger's own
 * REDACT_PATHS are pino paths (exact names, for speed) covering the same words.
 */
export const REDACTED = "[REDACTED]";

/**
 * Words that make a key name a secret's, matched inside the key with separators dropped
 * and lower-cased, so apiKey, api_key and API-KEY agree, and db_password is caught too.
 * `key` is matched as the last word of the name instead (`key`, `ssh_key`, `signingKey`),
 * since inside a name it would catch `keyboard` or `monkey`.
 */
export const SECRET_KEY_WORDS = [
  "password",
  "passwd",
  "pwd",
  "secret",
  "token",
  "apikey",
  "accesskey",
  "privatekey",
  "secretkey",
  "signingkey",
  "encryptionkey",
  "connectionstring",
  "connstr",
  "credential",
  "authorization",
  "dsn",
  "cookie",
  "passphrase",
] as const;

const SENSITIVE_KEY = new RegExp(`(${SECRET_KEY_WORDS.join("|")})`);
// "key" as the whole name or its last word: key, KEY, ssh_key, ssh-key, sshKey, SSH_KEY.
const LAST_WORD_KEY = /(^|[^A-Za-z0-9])(key|Key|KEY)[sS]?$|[a-z0-9](Key|KEY)[sS]?$/;

// Key names repeat (every result of a type has the same keys): remember the answers, up
// to a bound, since this runs on every key of every config and outputs the store writes.
const known = new Map<string, boolean>();

export function isSensitiveKey(key: string): boolean {
  let answer = known.get(key);
  if (answer === undefined) {
    answer = SENSITIVE_KEY.test(key.toLowerCase().replace(/[^a-z0-9]/g, "")) || LAST_WORD_KEY.test(key);
    if (known.size >= 10_000) known.clear();
    known.set(key, answer);
  }
  return answer;
}

// scheme://user:password@host -> scheme://user:[REDACTED]@host (also inside longer text).
const URL_PASSWORD = /(\b[a-z][a-z0-9+.-]*:\/\/[^:/?#\s@]*:)[^@\s/]+@/gi;
// key=value pairs as in libpq DSNs and query strings: password=..., &token=...
const PAIR_SECRET = /\b((?:password|passwd|pwd|secret|token|api[_-]?key|access[_-]?key|client[_-]?secret)\s*[=:]\s*)("[^"]*"|'[^']*'|[^\s&;,'"()]+)/gi;

/** Scrubs known secret values, URL passwords and key=value secrets out of free text. */
export function redactText(text: string, secrets: Iterable<string> = []): string {
  let out = text;
  // Longest first, so a secret that contains another is not half-replaced; very short
  // values would wipe out ordinary words.
  const list = [...new Set([...secrets].filter((s) => typeof s === "string" && s.length >= 4))].sort((a, b) => b.length - a.length);
  for (const s of list) out = out.split(s).join(REDACTED);
  return out.replace(URL_PASSWORD, `$1${REDACTED}@`).replace(PAIR_SECRET, `$1${REDACTED}`);
}
