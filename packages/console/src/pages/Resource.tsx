import { useCallback, useEffect, useMemo, useState } from "react";
import { api, call, type Me } from "../lib/api";
import { href, navigate } from "../lib/router";
import { watch, type Resource } from "../lib/watch";
import { ConfirmButton, ErrorBox, Json, Link, StateBadge } from "../components";
import { newer } from "./Resources";
import { buildGraph, DependencyGraph } from "../graph";
import { idOf, keyOf } from "@pragma/cli-src/apply/references";

type Ref = { provider: string; resource: string; name: string };
const path = (id: string) => `/resources/${encodeURIComponent(id)}`;

/** Every resource in scope (the API has no reverse-dependency query): at most 10 pages of 1000. */
async function listAll(): Promise<Resource[]> {
  const all: Resource[] = [];
  let cursor: string | undefined;
  for (let i = 0; i < 10; i++) {
    const res = await call<Resource[]>("GET", "/resources/", { query: { limit: 1000, cursor } });
    all.push(...res.body);
    cursor = res.headers.get("next_cursor") ?? undefined;
    if (!cursor) break;
  }
  return all;
}

function RefList({ refs, empty }: { refs: Ref[]; empty: string }) {
  if (!refs.length) return <p className="muted">{empty}</p>;
  return (
    <ul className="refs">
      {refs.map((r) => (
        <li key={keyOf(r)}>
          <Link href={href(`resources/${idOf(r)}`)}>{keyOf(r)}</Link>
        </li>
      ))}
    </ul>
  );
}

export function ResourcePage({ me, id }: { me: Me; id: string }) {
  const [r, setR] = useState<Resource | undefined>();
  const [gone, setGone] = useState(false);
  const [error, setError] = useState<unknown>();
  const [reveal, setReveal] = useState(false);
  const [related, setRelated] = useState<{ dependents: Ref[]; owned: Ref[]; all: Resource[] }>({ dependents: [], owned: [], all: [] });
  const [logs, setLogs] = useState<unknown>();
  const [health, setHealth] = useState<unknown>();
  const [sideError, setSideError] = useState<unknown>();

  const load = useCallback(async () => {
    try {
      setR(await api<Resource>("GET", path(id), { query: { reveal } }));
      setError(undefined);
    } catch (err) {
      setError(err);
    }
  }, [id, reveal]);

  useEffect(() => {
    void load();
  }, [load]);

  useEffect(() => {
    listAll().then(
      (all) => {
        const mine = (refs: Ref[] | null | undefined) => (refs ?? []).some((d) => idOf(d) === id);
        setRelated({ dependents: all.filter((x) => mine(x.dependencies)), owned: all.filter((x) => mine(x.owner_references)), all });
      },
      () => undefined,
    );
  }, [id, r?.updated_at]);

  // Live: the stream is filtered to this provider and type; only this id matters here.
  useEffect(() => {
    if (!r) return;
    const ctl = new AbortController();
    void watch({ provider: r.provider, resource: r.resource }, ctl.signal, (e) => {
      // Read again once the stream is open (and after a reset): a change between the first
      // read and the stream's start would otherwise never show (seen: a page stuck at processing).
      if (e.type === "sync" || e.type === "reset") void load();
      else if (e.type === "deleted" && e.resource.id === id) setGone(true);
      // Watch bodies are redacted; with reveal on, read the revealed body again.
      else if (e.type === "changed" && e.resource.id === id) {
        if (reveal) void load();
        else setR((cur) => (newer(cur, e.resource) ? e.resource : cur));
      }
    });
    return () => ctl.abort();
    // Reopened when what it watches changes, not on every new body of the resource.
  }, [r?.provider, r?.resource, id, reveal]);

  const graph = useMemo(() => (r ? buildGraph(r, related.all) : undefined), [r, related.all]);

  if (gone) return <p role="status">This resource was deleted. <Link href={href("resources")}>Back to resources</Link></p>;
  if (!r) return <ErrorBox error={error} />;
  return (
    <article aria-labelledby="res-h">
      <p>
        <Link href={href("resources")}>← Resources</Link>
      </p>
      <h1 id="res-h">
        {r.name} <StateBadge state={r.lifecycle_state} />
      </h1>
      <dl className="facts">
        <dt>Id</dt>
        <dd>{r.id}</dd>
        <dt>Provider / type</dt>
        <dd>
          {r.provider} / {r.resource}
        </dd>
        <dt>Tags</dt>
        <dd>{(r.tags ?? []).join(", ") || "none"}</dd>
        <dt>Provisioned</dt>
        <dd>{r.provisioned ? "yes" : "no"}</dd>
        <dt>Updated</dt>
        <dd>{new Date(r.updated_at).toLocaleString()}</dd>
      </dl>
      <ErrorBox error={error} />
      {r.error ? (
        <section aria-labelledby="err-h">
          <h2 id="err-h">Error</h2>
          <pre className="resource-error">{r.error}</pre>
        </section>
      ) : null}
      {me.role === "admin" ? (
        <label className="reveal">
          <input type="checkbox" checked={reveal} onChange={(e) => setReveal(e.target.checked)} /> Reveal sensitive values (admin)
        </label>
      ) : null}
      <div className="two">
        <section aria-labelledby="cfg-h">
          <h2 id="cfg-h">Config</h2>
          <Json value={r.config} label="Config" />
        </section>
        <section aria-labelledby="out-h">
          <h2 id="out-h">Outputs</h2>
          <Json value={r.outputs} label="Outputs" />
        </section>
      </div>
      {graph ? <DependencyGraph graph={graph} href={(rid) => href(`resources/${rid}`)} /> : null}
      <div className="two">
        <section aria-labelledby="deps-h">
          <h2 id="deps-h">Depends on</h2>
          <RefList refs={r.dependencies ?? []} empty="No dependencies." />
          <h2>Dependents</h2>
          <RefList refs={related.dependents} empty="Nothing depends on it." />
        </section>
        <section aria-labelledby="own-h">
          <h2 id="own-h">Owners</h2>
          <RefList refs={r.owner_references ?? []} empty="No owners." />
          <h2>Owned</h2>
          <RefList refs={related.owned} empty="Owns nothing." />
        </section>
      </div>
      <section aria-labelledby="ops-h">
        <h2 id="ops-h">Logs and health</h2>
        <div className="actions">
          <button type="button" onClick={() => api("GET", `${path(id)}/logs`, { query: { tail: 100 } }).then((l) => { setLogs(l); setSideError(undefined); }, setSideError)}>
            Show logs
          </button>
          <button type="button" onClick={() => api("GET", `${path(id)}/health`).then((h) => { setHealth(h); setSideError(undefined); }, setSideError)}>
            Check health
          </button>
          <ConfirmButton
            label="Delete"
            danger
            question={`Delete ${keyOf(r)}? The provider removes what it created.`}
            action={async () => {
              const res = await call<Resource | undefined>("DELETE", path(id));
              if (res.status === 204) navigate(href("resources"));
              else if (res.body) setR(res.body);
            }}
          />
        </div>
        <ErrorBox error={sideError} />
        {logs !== undefined ? <Json value={logs} label="Logs" /> : null}
        {health !== undefined ? <Json value={health} label="Health" /> : null}
      </section>
    </article>
  );
}
