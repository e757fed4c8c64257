import type { DatabaseEntry, Project } from "@pragma/contracts";
import type { StoredDatabase, StoredProject } from "../ports";

/** Strips the ciphertext by copying named fields, so a new stored column cannot leak by default. */
export function presentDatabase(d: StoredDatabase): DatabaseEntry {
  return {
    host: d.host,
    port: d.port,
    username: d.username,
    db_name: d.db_name,
    db_type: d.db_type,
    connect_timeout_secs: d.connect_timeout_secs,
    idle_timeout_secs: d.idle_timeout_secs,
    max_open_connections: d.max_open_connections,
    max_idle_connections: d.max_idle_connections,
  };
}

export function presentProject(p: StoredProject): Project {
  return {
    project_id: p.project_id,
    org_id: p.org_id,
    space_id: p.space_id,
    name: p.name,
    abbreviation: p.abbreviation,
    description: p.description,
    database: p.databases.map(presentDatabase),
    created_at: p.created_at,
    updated_at: p.updated_at,
  };
}
