/**
 * Test tenants made through the front door (System API + API key + token exchange),
 * and a small client for the resource routes in one (org, project, space).
 */
import { newUlid } from "@pragma/ids";
import { waitFor } from "@pragma/testing";
import { call, SERVER_KEY } from "./system";

const sk = { "x-server-key": SERVER_KEY };

export interface Org {
  orgId: string;
  token: string;
  /** The org's first project and its default space. */
  projectId: string;
  spaceId: string;
  addProject(abbreviation: string): Promise<{ projectId: string; spaceId: string }>;
  addSpace(projectId: string, name: string): Promise<string>;
  client(projectId?: string, spaceId?: string): Client;
}

const database = [
  {
    host: "127.0.0.1",
    port: "5432",
    username: "postgres",
    password: "unused-by-pragma-provider",
    db_name: "postgres",
    db_type: "postgres",
    connect_timeout_secs: 5,
    idle_timeout_secs: 30,
    max_open_connections: 5,
    max_idle_connections: 2,
  },
];

export async function createOrg(baseUrl: string, abbreviation = `o${newUlid().slice(-10).toLowerCase()}`): Promise<Org> {
  const orgId = newUlid();
  const org = await call(baseUrl, "POST", "/orgs", {
    headers: sk,
    body: { org_id: orgId, name: abbreviation, abbreviation, admin_email: "a@x.test", admin_name: "A", address: "1 St", state: "CA", country: "US", pin_code: "94000" },
  });
  if (org.status !== 201) throw new Error(`create org: ${org.status} ${org.text}`);
  const addProject = async (abbr: string) => {
    const p = await call(baseUrl, "POST", `/orgs/${orgId}/projects`, { headers: sk, body: { name: abbr, abbreviation: abbr, database } });
    if (p.status !== 201) throw new Error(`create project: ${p.status} ${p.text}`);
    return { projectId: p.headers.get("x-project-id")!, spaceId: p.headers.get("x-space-id")! };
  };
  const addSpace = async (projectId: string, name: string) => {
    const s = await call(baseUrl, "POST", `/orgs/${orgId}/projects/${projectId}/spaces`, { headers: sk, body: { name } });
    if (s.status !== 201) throw new Error(`create space: ${s.status} ${s.text}`);
    return s.body.space_id as string;
  };
  const first = await addProject("main");
  const key = await call(baseUrl, "POST", `/orgs/${orgId}/api-keys`, { headers: sk, body: { name: "ci", role: "member" } });
  const tok = await call(baseUrl, "POST", "/auth/token", { body: { api_key: key.body.api_key } });
  if (tok.status !== 200) throw new Error(`token: ${tok.status} ${tok.text}`);
  const token = tok.body.access_token as string;
  return {
    orgId,
    token,
    ...first,
    addProject,
    addSpace,
    client: (projectId = first.projectId, spaceId = first.spaceId) => new Client(baseUrl, token, projectId, spaceId),
  };
}

export type Ref = { provider: string; resource: string; name: string };

export const rid = (r: Ref) => `resource:${r.provider}_${r.resource}_${r.name}`;
export const enc = (id: string) => encodeURIComponent(id);

export class Client {
  constructor(
    readonly baseUrl: string,
    readonly token: string,
    readonly projectId: string,
    readonly spaceId: string,
  ) {}

  private headers() {
    return { authorization: `Bearer ${this.token}`, "x-project-id": this.projectId, "x-space-id": this.spaceId };
  }

  req(method: string, path: string, body?: unknown) {
    return call(this.baseUrl, method, path, { headers: this.headers(), ...(body !== undefined ? { body } : {}) });
  }

  apply(body: Record<string, unknown>) {
    return this.req("POST", "/resources/apply", body);
  }

  get(id: string) {
    return this.req("GET", `/resources/${enc(id)}`);
  }

  del(id: string) {
    return this.req("DELETE", `/resources/${enc(id)}`);
  }

  list(query = "") {
    return this.req("GET", `/resources/${query ? `?${query}` : ""}`);
  }

  /** Polls until the resource is in `state` (or gone, for state "gone"). */
  async waitFor(id: string, state: string, timeoutMs = 20_000) {
    return waitFor(
      async () => {
        const r = await this.get(id);
        if (state === "gone") return r.status === 404 ? r : undefined;
        return r.status === 200 && r.body.lifecycle_state === state ? r : undefined;
      },
      { timeoutMs, intervalMs: 50, message: `${id} never reached ${state}` },
    );
  }
}
