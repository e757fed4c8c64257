import { useCallback, useEffect, useState } from "react";
import type { BuildInfo, DeploymentStatus, ProviderSummary } from "@pragma/contracts";
import { api, apiText, ApiError, type Me } from "../lib/api";
import { href, navigate } from "../lib/router";
import { ConfirmButton, ErrorBox, Link } from "../components";

const pPath = (id: string) => `/providers/${encodeURIComponent(id)}`;
/** How often a page with a build in progress or an unhealthy deployment asks again. */
const POLL_MS = 2000;

const when = (t: string | null | undefined) => (t ? new Date(t).toLocaleString() : "—");

function BuildBadge({ status }: { status: string }) {
  // Reuses the resource states' colours: success reads as ready, building as processing.
  const cls = status === "success" ? "ready" : status === "failed" ? "failed" : "processing";
  return <span className={`state state-${cls}`}>{status}</span>;
}

function HealthBadge({ dep }: { dep: DeploymentStatus }) {
  return <span className={`state state-${dep.healthy ? "ready" : "pending"}`}>{dep.healthy ? "healthy" : "not healthy yet"}</span>;
}

export function ProvidersPage() {
  const [list, setList] = useState<ProviderSummary[] | undefined>();
  const [error, setError] = useState<unknown>();
  const load = useCallback(async () => {
    try {
      setList(await api<ProviderSummary[]>("GET", "/providers"));
      setError(undefined);
    } catch (err) {
      setError(err);
    }
  }, []);
  useEffect(() => {
    void load();
  }, [load]);
  return (
    <section aria-labelledby="providers-h">
      <h1 id="providers-h">Providers</h1>
      <p className="hint">The org's pushed providers (push with the CLI: <code>pragma providers push</code>) and the built-in ones.</p>
      <div className="actions">
        <button type="button" onClick={() => void load()}>
          Refresh
        </button>
      </div>
      <ErrorBox error={error} />
      {list && !list.length ? <p>No providers.</p> : null}
      {list?.length ? (
        <div className="table-wrap">
          <table>
            <caption className="sr-only">Providers</caption>
            <thead>
              <tr>
                <th scope="col">Provider</th>
                <th scope="col">Kind</th>
                <th scope="col">Deployed version</th>
                <th scope="col">Deployment</th>
                <th scope="col">Updated</th>
              </tr>
            </thead>
            <tbody>
              {list.map((p) => (
                <tr key={p.provider_id} data-provider={p.provider_id}>
                  <td>{p.builtin ? p.provider_id : <Link href={href(`providers/${p.provider_id}`)}>{p.provider_id}</Link>}</td>
                  <td>{p.builtin ? <span className="builtin">built-in</span> : "pushed"}</td>
                  <td>{p.current_version ?? "—"}</td>
                  <td>{p.builtin ? "always available" : (p.deployment_status ?? "not_deployed").replace(/_/g, " ")}</td>
                  <td>{when(p.updated_at)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      ) : null}
    </section>
  );
}

function BuildRow({ id, build, deployed, admin, onDeployed }: { id: string; build: BuildInfo; deployed?: string; admin: boolean; onDeployed: (message: string) => void }) {
  const [log, setLog] = useState<string | undefined>();
  const [error, setError] = useState<unknown>();
  const v = build.version;
  const older = deployed !== undefined && v < deployed;
  return (
    <>
      <tr data-version={v}>
        <td>
          {v}
          {deployed === v ? <span className="muted"> (deployed)</span> : null}
        </td>
        <td>
          <BuildBadge status={build.status} />
        </td>
        <td>{when(build.created_at)}</td>
        <td className="build-error">{build.error_message ?? ""}</td>
        <td>
          <div className="actions">
            <button type="button" aria-expanded={log !== undefined} onClick={() => (log !== undefined ? setLog(undefined) : apiText(`${pPath(id)}/builds/${v}/logs`).then(setLog, setError))}>
              {log !== undefined ? "Hide log" : "Show log"} <span className="sr-only">of build {v}</span>
            </button>
            {admin && build.status === "success" ? (
              <ConfirmButton
                label={deployed === v ? `Redeploy ${v}` : older ? `Roll back to ${v}` : `Deploy ${v}`}
                question={`Deploy build ${v} of ${id}? New events run on it; events already taken finish on the version that took them.`}
                action={async () => {
                  const d = await api<DeploymentStatus>("POST", `${pPath(id)}/deploy`, { body: { version: v } });
                  onDeployed(`Deployed ${id} ${d.version}.`);
                }}
              />
            ) : null}
          </div>
          <ErrorBox error={error} />
        </td>
      </tr>
      {log !== undefined ? (
        <tr className="log-row">
          <td colSpan={5}>
            <pre className="json build-log" role="region" aria-label={`Build log of ${v}`} tabIndex={0}>
              {log || "(empty log)"}
            </pre>
          </td>
        </tr>
      ) : null}
    </>
  );
}

export function ProviderPage({ me, id }: { me: Me; id: string }) {
  const admin = me.role === "admin";
  const [builds, setBuilds] = useState<BuildInfo[] | undefined>();
  const [dep, setDep] = useState<DeploymentStatus | null | undefined>();
  const [error, setError] = useState<unknown>();
  const [notice, setNotice] = useState("");
  const [cascade, setCascade] = useState(false);

  const load = useCallback(async () => {
    try {
      const [b, d] = await Promise.all([
        api<BuildInfo[]>("GET", `${pPath(id)}/builds`),
        // Never deployed is a 404: shown as "not deployed", not as an error.
        api<DeploymentStatus>("GET", `${pPath(id)}/deployment`).catch((err: unknown) => {
          if (err instanceof ApiError && err.status === 404) return null;
          throw err;
        }),
      ]);
      setBuilds(b);
      setDep(d);
      setError(undefined);
    } catch (err) {
      setError(err);
    }
  }, [id]);

  useEffect(() => {
    void load();
  }, [load]);

  // A build in progress or a deployment not healthy yet changes without us: ask again until settled.
  const unsettled = (builds ?? []).some((b) => b.status === "pending" || b.status === "building") || (dep != null && !dep.healthy);
  useEffect(() => {
    if (!unsettled) return;
    const t = setInterval(() => void load(), POLL_MS);
    return () => clearInterval(t);
  }, [unsettled, load]);

  const deployed = dep ? dep.version : undefined;
  return (
    <section aria-labelledby="provider-h">
      <p>
        <Link href={href("providers")}>← Providers</Link>
      </p>
      <h1 id="provider-h">Provider {id}</h1>
      <ErrorBox error={error} />
      <p role="status" className="status">
        {notice}
      </p>
      <h2>Deployment</h2>
      {dep === undefined ? null : dep === null ? (
        <p className="deployment">Not deployed.</p>
      ) : (
        <dl className="facts deployment">
          <dt>Version</dt>
          <dd className="deployed-version">{dep.version}</dd>
          <dt>Status</dt>
          <dd>{dep.status}</dd>
          <dt>Health</dt>
          <dd>
            <HealthBadge dep={dep} />
          </dd>
          <dt>Updated</dt>
          <dd>{when(dep.updated_at)}</dd>
        </dl>
      )}
      <div className="actions">
        <button type="button" onClick={() => void load()}>
          Refresh
        </button>
      </div>
      <h2>Builds</h2>
      <p className="hint">The latest 10, newest first.{admin ? " Deploying an older successful build is the rollback." : ""}</p>
      {builds && !builds.length ? <p>No builds.</p> : null}
      {builds?.length ? (
        <div className="table-wrap">
          <table>
            <caption className="sr-only">Builds of {id}</caption>
            <thead>
              <tr>
                <th scope="col">Version</th>
                <th scope="col">Status</th>
                <th scope="col">Created</th>
                <th scope="col">Error</th>
                <th scope="col">Actions</th>
              </tr>
            </thead>
            <tbody>
              {builds.map((b) => (
                <BuildRow
                  key={b.version}
                  id={id}
                  build={b}
                  deployed={deployed}
                  admin={admin}
                  onDeployed={(m) => {
                    setNotice(m);
                    void load();
                  }}
                />
              ))}
            </tbody>
          </table>
        </div>
      ) : null}
      {admin ? (
        <>
          <h2>Delete</h2>
          <div className="actions">
            <label>
              <input type="checkbox" checked={cascade} onChange={(e) => setCascade(e.target.checked)} /> Also delete its resources (cascade: their delete hooks run)
            </label>
            <ConfirmButton
              label={`Delete ${id}`}
              danger
              question={cascade ? `Delete ${id}, every resource of it (through its delete hooks), its deployment and its builds?` : `Delete ${id}, its deployment and its builds? Refused while it has resources.`}
              action={async () => {
                await api("DELETE", pPath(id), { query: { cascade } });
                navigate(href("providers"));
              }}
            />
          </div>
        </>
      ) : null}
    </section>
  );
}
