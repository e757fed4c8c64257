import { useEffect, useRef, useState } from "react";
import { parseDocuments } from "@pragma/cli-src/apply/parse";
import { validateDocuments, type PlannedResource } from "@pragma/cli-src/apply/validate";
import { formatProblem } from "@pragma/cli-src/apply/problem";
import { applyResources } from "@pragma/cli-src/apply/run-apply";
import { errorText, sessionRequest } from "../lib/api";
import { href } from "../lib/router";
import { watch } from "../lib/watch";
import { Link, StateBadge } from "../components";

interface Row {
  key: string;
  id: string;
  state: string;
  message?: string;
}

const FILE = "pasted YAML";

/** The CLI's checks, its order, and its rule: a resource whose in-file dependency failed to apply is not attempted. */
function plan(text: string, file: string): { resources: PlannedResource[]; problems: string[] } {
  const parsed = parseDocuments(text, file);
  const checked = validateDocuments(parsed.documents);
  return { resources: checked.resources, problems: [...parsed.problems, ...checked.problems].map(formatProblem) };
}

function splitStatus(status: string): [string, string | undefined] {
  const m = /^(.*?)(?:: (.*)| \((.*)\))$/s.exec(status);
  return m ? [m[1] ?? status, m[2] ?? m[3]] : [status, undefined];
}

export function ApplyPage() {
  const [text, setText] = useState("");
  const [file, setFile] = useState(FILE);
  const [problems, setProblems] = useState<string[]>([]);
  const [rows, setRows] = useState<Row[]>([]);
  const [draft, setDraft] = useState(false);
  const [busy, setBusy] = useState(false);
  const stream = useRef<AbortController | undefined>(undefined);

  useEffect(() => () => stream.current?.abort(), []);

  const update = (id: string, patch: Partial<Row>) => setRows((cur) => cur.map((r) => (r.id === id ? { ...r, ...patch } : r)));

  const check = () => {
    const p = plan(text, file);
    setProblems(p.problems);
    setRows(p.resources.map((r) => ({ key: r.key, id: r.id, state: "planned" })));
    return p;
  };

  const apply = async () => {
    const p = check();
    if (p.problems.length || !p.resources.length) return;
    setBusy(true);
    stream.current?.abort();
    const ctl = new AbortController();
    stream.current = ctl;
    const ids = new Set(p.resources.map((r) => r.id));
    // Open the stream before the first apply so no transition is missed.
    await new Promise<void>((opened) => {
      const t = setTimeout(opened, 3000);
      void watch({}, ctl.signal, (e) => {
        if (e.type === "sync") {
          clearTimeout(t);
          opened();
        } else if (e.type === "changed" && ids.has(e.resource.id)) update(e.resource.id, { state: e.resource.lifecycle_state, message: e.resource.error ?? undefined });
        else if (e.type === "deleted" && ids.has(e.resource.id)) update(e.resource.id, { state: "deleted" });
      });
    });
    // The CLI's applyResources: its order and its rule (a resource whose in-file dependency
    // failed to apply is not attempted), its words in the rows; the watch carries the states after.
    const keyToId = new Map(p.resources.map((r) => [r.key, r.id]));
    try {
      await applyResources(p.resources, {
      client: { request: sessionRequest },
      progress: {
        update: (key, status) => {
          const id = keyToId.get(key)!;
          // "applied (pending)" shows the state the server answered; "failed: why",
          // "not attempted (dependency x failed)" show the word and the reason.
          let [state, message] = splitStatus(status);
          if (state === "applied" && message) [state, message] = [message, undefined];
          // A state the watch already delivered is newer than the apply's own answer.
          setRows((cur) => cur.map((x) => (x.id === id && (x.state === "applying" || x.state === "planned" || !status.startsWith("applied")) ? { ...x, state, message } : x)));
        },
        stop: () => undefined,
      },
      draft,
      wait: false,
      timeoutMs: 0,
      pollMs: 0,
      now: Date.now,
      sleep: (ms) => new Promise((r) => setTimeout(r, ms)),
      });
    } catch (err) {
      // Not an answer of the API (the network failed): nothing further was attempted.
      setProblems([errorText(err)]);
    } finally {
      setBusy(false);
    }
  };

  return (
    <section aria-labelledby="apply-h">
      <h1 id="apply-h">Apply</h1>
      <p>Paste or upload one or more YAML documents (separated by <code>---</code>). They are checked and ordered exactly as <code>pragma resources apply</code> does.</p>
      <div className="apply-input">
        <label htmlFor="yaml">YAML</label>
        <textarea id="yaml" value={text} onChange={(e) => setText(e.target.value)} rows={14} spellCheck={false} />
        <label htmlFor="upload">Or upload a file</label>
        <input
          id="upload"
          type="file"
          accept=".yaml,.yml,text/yaml"
          onChange={async (e) => {
            const f = e.target.files?.[0];
            if (!f) return;
            setFile(f.name);
            setText(await f.text());
          }}
        />
        <label>
          <input type="checkbox" checked={draft} onChange={(e) => setDraft(e.target.checked)} /> Store as draft (no provisioning)
        </label>
        <div className="actions">
          <button type="button" onClick={check}>
            Check
          </button>
          <button type="button" onClick={apply} disabled={busy || !text.trim()}>
            Apply
          </button>
        </div>
      </div>
      {problems.length ? (
        <div role="alert" className="error">
          <p>Nothing was sent: {problems.length} problem{problems.length > 1 ? "s" : ""}.</p>
          <ul>
            {problems.map((p, i) => (
              <li key={i}>{p}</li>
            ))}
          </ul>
        </div>
      ) : null}
      {rows.length ? (
        <div className="table-wrap">
          <table aria-label="Apply progress">
            <thead>
              <tr>
                <th scope="col">Order</th>
                <th scope="col">Resource</th>
                <th scope="col">State</th>
                <th scope="col">Message</th>
              </tr>
            </thead>
            <tbody aria-live="polite">
              {rows.map((r, i) => (
                <tr key={r.id} data-key={r.key}>
                  <td>{i + 1}</td>
                  <td>
                    <Link href={href(`resources/${r.id}`)}>{r.key}</Link>
                  </td>
                  <td>
                    <StateBadge state={r.state} />
                  </td>
                  <td className="message">{r.message}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      ) : null}
    </section>
  );
}
