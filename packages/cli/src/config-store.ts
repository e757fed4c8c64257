import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import YAML from "yaml";
import { CliError } from "./errors";

export interface Context {
  api_url: string;
  project?: string;
  space?: string;
}

export interface ConfigFile {
  current_context?: string;
  contexts: Record<string, Context>;
}

export interface StoredCredentials {
  api_key?: string;
  access_token?: string;
  /** ISO timestamp; the token is re-exchanged from api_key once this is near. */
  expires_at?: string;
}

export interface CredentialsFile {
  contexts: Record<string, StoredCredentials>;
}

/** PRAGMA_CONFIG_DIR wins so tests (and CI) never touch a developer's real config. */
export function configDir(env: Record<string, string | undefined>, home: string): string {
  if (env.PRAGMA_CONFIG_DIR) return env.PRAGMA_CONFIG_DIR;
  const base = env.XDG_CONFIG_HOME || join(home, ".config");
  return join(base, "pragma");
}

/**
 * Contexts live in config.yaml (shareable) and secrets in credentials.yaml (0600),
 * so a user can show or commit their config without leaking a key.
 */
export class ConfigStore {
  readonly configPath: string;
  readonly credentialsPath: string;

  constructor(readonly dir: string) {
    this.configPath = join(dir, "config.yaml");
    this.credentialsPath = join(dir, "credentials.yaml");
  }

  readConfig(): ConfigFile {
    const raw = this.readYaml(this.configPath) as Partial<ConfigFile> | undefined;
    return { current_context: raw?.current_context ?? undefined, contexts: { ...(raw?.contexts ?? {}) } };
  }

  writeConfig(config: ConfigFile): void {
    this.writeYaml(this.configPath, config, 0o644);
  }

  readCredentials(): CredentialsFile {
    const raw = this.readYaml(this.credentialsPath) as Partial<CredentialsFile> | undefined;
    return { contexts: { ...(raw?.contexts ?? {}) } };
  }

  credentialsFor(context: string): StoredCredentials | undefined {
    return this.readCredentials().contexts[context];
  }

  saveCredentials(context: string, creds: StoredCredentials | undefined): void {
    const file = this.readCredentials();
    if (creds) file.contexts[context] = creds;
    else delete file.contexts[context];
    this.writeYaml(this.credentialsPath, file, 0o600);
  }

  private readYaml(path: string): unknown {
    if (!existsSync(path)) return undefined;
    try {
      return YAML.parse(readFileSync(path, "utf8")) ?? undefined;
    } catch (err) {
      throw new CliError(`cannot read ${path}: ${(err as Error).message}`, 1, `fix or remove the file`);
    }
  }

  private writeYaml(path: string, value: unknown, mode: number): void {
    mkdirSync(this.dir, { recursive: true, mode: 0o700 });
    // Write then rename so a crash never leaves a half-written file, and create the
    // temp file with the final mode so a secret is never readable by others, not even briefly.
    const tmp = `${path}.${process.pid}.tmp`;
    writeFileSync(tmp, YAML.stringify(value), { mode });
    chmodSync(tmp, mode);
    renameSync(tmp, path);
  }
}
