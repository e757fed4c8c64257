import type { TenantScope } from "@pragma/contracts";
import { execute, literal, type PoolClient } from "./pg";

/**
 * How a store transaction acts as its tenant: the roles row-level security names, the
 * scope condition every statement by key carries, and the settings that put a
 * transaction in a scope (migration 20261126000000_graph_and_tenant_rls).
 */

/** The NOLOGIN roles the migration creates; row-level security policies name them. */
export const TENANT_ROLE = "pragma_store_tenant";
export const RELAY_ROLE = "pragma_store_relay";
/** The observation sweeper's (migration 20261205160100_observation_sweeper_role): ready resources and the cycles, read only. */
export const SWEEPER_ROLE = "pragma_store_sweeper";

export const IN_SCOPE = "org_id = $1 AND project_id = $2 AND space_id = $3";
/** The expression resources_list_idx is built on (migration 20261130000000). */
export const TENANT_KEY = "(org_id || '/' || project_id || '/' || space_id)";
/**
 * The tenant role and the scope as transaction-local settings (`role` is the setting SET
 * ROLE changes), with parameters (org, project, space), prepared once per connection. The
 * role is subject to FORCE'd row-level security, so even a query that forgot its WHERE
 * clause sees only this scope's rows, and a write into another scope fails. It also makes
 * the transaction's prepared statements run their generic plan.
 * Every statement here finds rows by key, so the generic plan is the custom one, but the
 * planner cannot tell for the batch lock (`unnest($4::text[])` of unknown length, then
 * RLS and a join): in auto mode it re-planned that one on every run, at ~0.5 ms each.
 */
const ACT_AS_TENANT = `SELECT set_config('role', '${TENANT_ROLE}', true), set_config('pragma.org_id', $1, true),
    set_config('pragma.project_id', $2, true), set_config('pragma.space_id', $3, true),
    set_config('plan_cache_mode', 'force_generic_plan', true)`;

/** BEGIN and then ACT_AS_TENANT: how every store transaction opens, with its first batch. */
export function beginInScope(client: PoolClient, scope: TenantScope): string[] {
  return ["BEGIN", actAsTenantPrepared(client, scope)];
}

export function actAsTenantPrepared(client: PoolClient, scope: TenantScope): string {
  if (!scope.org_id || !scope.project_id || !scope.space_id) throw new Error("tenant scope is required");
  return execute(client, { name: "store.act-as-tenant", text: ACT_AS_TENANT, values: [scope.org_id, scope.project_id, scope.space_id] });
}

export const sameScope = (a: TenantScope, b: TenantScope) => a.org_id === b.org_id && a.project_id === b.project_id && a.space_id === b.space_id;

/**
 * The tenant role and scope as transaction-local settings, for a transaction already open,
 * with the values written in (the dead-letter paths, which find their results by position
 * in a batch and so send no PREPARE).
 */
export function actAsTenant(scope: TenantScope): string {
  if (!scope.org_id || !scope.project_id || !scope.space_id) throw new Error("tenant scope is required");
  return `SELECT set_config('role', '${TENANT_ROLE}', true), set_config('pragma.org_id', ${literal(scope.org_id)}, true),
    set_config('pragma.project_id', ${literal(scope.project_id)}, true), set_config('pragma.space_id', ${literal(scope.space_id)}, true)`;
}
