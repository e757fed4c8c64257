/**
 * What the use cases need from the outside world. src/data implements the
 * repositories and the outbox on Prisma; tests and the re-encrypt
 * command build the same deps, so nothing here knows about Prisma or amqplib.
 */
import type { ApiKey, DatabaseEntry, MessageContract, Org, Role } from "@pragma/contracts";
import type { Cipher as PasswordCipher } from "@pragma/crypto";

/** Thrown by repositories when an insert or update hits a unique constraint. */
export class UniqueViolation extends Error {
  constructor(readonly target?: string) {
    super(`unique constraint violated${target ? ` (${target})` : ""}`);
    this.name = "UniqueViolation";
  }
}

export interface NewOrg {
  org_id: string;
  name: string;
  abbreviation: string;
  admin_email: string;
  admin_name: string;
  address: string;
  state: string;
  country: string;
  pin_code: string;
}

export interface RateLimit {
  requests_per_second: number;
  burst: number;
}

export interface OrgRepository {
  /** @throws UniqueViolation when the id or the abbreviation is taken. */
  insert(org: NewOrg): Promise<Org>;
  findById(orgId: string): Promise<Org | null>;
  setRateLimit(orgId: string, rateLimit: RateLimit | null): Promise<Org | null>;
}

/** A database entry as stored: the password only as ciphertext. */
export interface StoredDatabase extends DatabaseEntry {
  password_ciphertext: string;
}

export interface StoredProject {
  project_id: string;
  org_id: string;
  space_id: string;
  name: string;
  abbreviation: string;
  description: string | null;
  databases: StoredDatabase[];
  created_at: string;
  updated_at: string;
}

export interface NewProject {
  project_id: string;
  org_id: string;
  default_space_id: string;
  name: string;
  abbreviation: string;
  description: string | null;
  databases: StoredDatabase[];
}

export interface ProjectPatch {
  name?: string;
  description?: string | null;
  /** Replaces every entry when present. */
  databases?: StoredDatabase[];
}

export interface ProjectRepository {
  /** Project, its databases and its default space in one transaction. @throws UniqueViolation */
  insertWithDefaultSpace(project: NewProject): Promise<StoredProject>;
  findById(orgId: string, projectId: string): Promise<StoredProject | null>;
  findByAbbreviation(orgId: string, abbreviation: string): Promise<StoredProject | null>;
  listByOrg(orgId: string): Promise<StoredProject[]>;
  /** @throws UniqueViolation */
  update(orgId: string, projectId: string, patch: ProjectPatch): Promise<StoredProject | null>;
  /** Every stored ciphertext, for key rotation. */
  listCiphertexts(): Promise<{ id: string; password_ciphertext: string }[]>;
  /** Compare-and-set so a concurrent PATCH is never overwritten with an older password. */
  replaceCiphertext(id: string, expected: string, next: string): Promise<boolean>;
}

export interface StoredSpace {
  space_id: string;
  project_id: string;
  org_id: string;
  name: string;
  description: string | null;
  created_at: string;
}

export interface SpaceRepository {
  insert(space: Omit<StoredSpace, "created_at">): Promise<StoredSpace>;
  findById(spaceId: string): Promise<StoredSpace | null>;
  listByProject(projectId: string): Promise<StoredSpace[]>;
}

export interface NewApiKey {
  key_id: string;
  org_id: string;
  name: string;
  role: Role;
  project_id: string | null;
  space_id: string | null;
  prefix: string;
  secret_hash: string;
}

export interface ApiKeyRepository {
  insert(key: NewApiKey): Promise<ApiKey>;
  findByHash(secretHash: string): Promise<{ key: ApiKey; org_name: string } | null>;
  listByOrg(orgId: string): Promise<ApiKey[]>;
  /** Idempotent: an already revoked key keeps its first revoked_at (`revokedNow` false). */
  revoke(orgId: string, keyId: string): Promise<{ key: ApiKey; revokedNow: boolean } | null>;
  /** Every org's keys revoked at or after `since`. */
  listRevokedSince(since: Date): Promise<{ key_id: string; revoked_at: string }[]>;
}

export interface TenantHeaders {
  orgId: string;
  projectId?: string;
  spaceId?: string;
}

/**
 * The outbox, inside a transaction: an event added here is committed with the change it
 * announces, or rolled back with it, and published by the relay after the commit.
 */
export interface EventOutbox {
  add<T>(contract: MessageContract<T>, payload: T, tenant: TenantHeaders): Promise<void>;
}

/** The repositories bound to one transaction, and its outbox. */
export interface TxRepositories {
  orgs: OrgRepository;
  projects: ProjectRepository;
  spaces: SpaceRepository;
  apiKeys: ApiKeyRepository;
  events: EventOutbox;
}

export interface Transactor {
  /** Runs `fn` in one transaction: everything it wrote, events included, commits or none of it does. */
  run<T>(fn: (tx: TxRepositories) => Promise<T>): Promise<T>;
}

export interface DatabaseProbe {
  /** Resolves with null when a connection succeeds, or the driver's reason (never containing the password). */
  check(entry: DatabaseEntry & { password: string }): Promise<string | null>;
}

export interface RegistryDeps {
  orgs: OrgRepository;
  projects: ProjectRepository;
  spaces: SpaceRepository;
  apiKeys: ApiKeyRepository;
  cipher: PasswordCipher;
  /** Every write that publishes an event goes through here (the transactional outbox). */
  tx: Transactor;
  probe: DatabaseProbe;
}
