import { useCallback, useEffect, useMemo, useRef, useState } from "react";
import { call } from "../lib/api";
import { href } from "../lib/router";
import { watch, type Resource } from "../lib/watch";
import { ErrorBox, Link, StateBadge } from "../components";

const STATES = ["draft", "pending", "processing", "ready", "failed"];
const PAGE = 50;

interface Filter {
  provider: string;
  resource: string;
  tags: string;
}

/** A newer body wins: a watch event committed before the list answered must not undo it. */
export function newer(a: Resource | undefined, b: Resource): boolean {
  return !a || a.updated_at <= b.updated_at;
}

const tagList = (tags: string) => tags.split(",").map((t) => t.trim()).filter(Boolean);

/**
 * Provider, type and tags filter on the server (list and watch take the same ones);
 * state and the name search filter the loaded page, since the API has no such filters.
 */
export function ResourcesPage() {
  const [draft, setDraft] = useState<Filter>({ provider: "", resource: "", tags: "" });
  const [filter, setFilter] = useState<Filter>(draft);
  const [state, setState] = useState("");
  const [search, setSearch] = useState("");
  const [cursors, setCursors] = useState<(string | undefined)[]>([undefined]);
  const [next, setNext] = useState<string | undefined>();
  // Read by the stream's handler, which outlives the render that created it.
  const nextRef = useRef<string | undefined>(undefined);
  nextRef.current = next;
  const [items, setItems] = useState<Resource[]>([]);
  const [error, setError] = useState<unknown>();
  const [live, setLive] = useState(false);
  const cursor = cursors[cursors.length - 1];

  const list = useCallback(async () => {
    try {
      const res = await call<Resource[]>("GET", "/resources/", {
        query: { provider: filter.provider, resource: filter.resource, tags: tagList(filter.tags), limit: PAGE, cursor },
      });
      setItems(res.body);
      setNext(res.headers.get("next_cursor") ?? undefined);
      setError(undefined);
    } catch (err) {
      setError(err);
    }
  }, [filter, cursor]);

  useEffect(() => {
    const ctl = new AbortController();
    let listed = false;
    void watch({ provider: filter.provider || undefined, resource: filter.resource || undefined, tags: tagList(filter.tags) }, ctl.signal, (e) => {
      if (e.type === "sync") {
        setLive(true);
        // List once the stream is open, so no change falls between the two.
        if (!listed) void list();
        listed = true;
      } else if (e.type === "reset") void list();
      else if (e.type === "deleted") setItems((cur) => cur.filter((r) => r.id !== e.resource.id));
      else {
        const r = e.resource;
        setItems((cur) => {
          const i = cur.findIndex((x) => x.id === r.id);
          if (i >= 0) return newer(cur[i], r) ? cur.map((x, j) => (j === i ? r : x)) : cur;
          // A new resource: show it if it sorts into this page (the list is sorted by name).
          const last = cur[cur.length - 1];
          if (nextRef.current && last && r.name > last.name) return cur;
          return [...cur, r].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
        });
      }
    });
    // Until the stream opens (or when it cannot), the page still shows the list.
    const fallback = setTimeout(() => {
      if (!listed) {
        listed = true;
        void list();
      }
    }, 1500);
    return () => {
      clearTimeout(fallback);
      ctl.abort();
      setLive(false);
    };
  }, [list]);

  const shown = useMemo(
    () => items.filter((r) => (!state || r.lifecycle_state === state) && (!search || r.name.toLowerCase().includes(search.toLowerCase()))),
    [items, state, search],
  );

  return (
    <section aria-labelledby="resources-h">
      <h1 id="resources-h">Resources</h1>
      <form
        className="filters"
        onSubmit={(e) => {
          e.preventDefault();
          setCursors([undefined]);
          setFilter(draft);
        }}
      >
        <label>
          Provider <input name="provider" value={draft.provider} onChange={(e) => setDraft({ ...draft, provider: e.target.value.trim() })} />
        </label>
        <label>
          Type <input name="type" value={draft.resource} onChange={(e) => setDraft({ ...draft, resource: e.target.value.trim() })} />
        </label>
        <label>
          Tags (all of, comma-separated) <input name="tags" value={draft.tags} onChange={(e) => setDraft({ ...draft, tags: e.target.value })} />
        </label>
        <button type="submit">Filter</button>
        <label>
          State{" "}
          <select name="state" value={state} onChange={(e) => setState(e.target.value)}>
            <option value="">any</option>
            {STATES.map((s) => (
              <option key={s}>{s}</option>
            ))}
          </select>
        </label>
        <label>
          Search by name <input type="search" name="search" value={search} onChange={(e) => setSearch(e.target.value)} />
        </label>
      </form>
      <p className="status" aria-live="polite">
        {live ? "Live: states update as they change." : "Connecting to live updates…"} {shown.length} of {items.length} on this page.
      </p>
      <ErrorBox error={error} />
      <div className="table-wrap">
        <table>
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">Provider</th>
              <th scope="col">Type</th>
              <th scope="col">State</th>
              <th scope="col" className="wide">Tags</th>
              <th scope="col" className="wide">Updated</th>
            </tr>
          </thead>
          <tbody>
            {shown.map((r) => (
              <tr key={r.id} data-id={r.id}>
                <td>
                  <Link href={href(`resources/${r.id}`)}>{r.name}</Link>
                </td>
                <td>{r.provider}</td>
                <td>{r.resource}</td>
                <td>
                  <StateBadge state={r.lifecycle_state} />
                </td>
                <td className="wide">{(r.tags ?? []).join(", ")}</td>
                <td className="wide">{new Date(r.updated_at).toLocaleString()}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      <nav className="pager" aria-label="Pages">
        <button type="button" disabled={cursors.length < 2} onClick={() => setCursors(cursors.slice(0, -1))}>
          Previous page
        </button>
        <button type="button" disabled={!next} onClick={() => setCursors([...cursors, next])}>
          Next page
        </button>
      </nav>
    </section>
  );
}
