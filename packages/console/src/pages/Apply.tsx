import { useEffect, useRef, useState } from "react";
import { parseDocuments } from "@pragma/cli-src/apply/parse";
import { validateDocuments, type PlannedResource } from "@pragma/cli-src/apply/validate";
import { formatProblem } from "@pragma/cli-src/apply/problem";
import { api, errorText } from "../lib/api";
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
        if (e.type === "open") {
          clearTimeout(t);
          opened();
        } else if (e.type === "changed" && ids.has(e.resource.id)) update(e.resource.id, { state: e.resource.lifecycle_state, message: e.resource.error ?? undefined });
        else if (e.type === "deleted" && ids.has(e.resource.id)) update(e.resource.id, { state: "deleted" });
      });
    });
    const failed = new Set<string>();
    for (const r of p.resources) {
      const broken = r.dependsOn.filter((d) => failed.has(d));
      if (broken.length) {
        failed.add(r.key);
        update(r.id, { state: "not attempted", message: `dependency ${broken.join(", ")} failed` });
        continue;
      }
      update(r.id, { state: "applying" });
      try {
        const res = await api<{ id: string; lifecycle_state: string }>("POST", "/resources/apply", { body: { ...r.body, lifecycle_state: draft ? "draft" : "pending" } });
        setRows((cur) => cur.map((x) => (x.id === r.id && (x.state === "applying" || x.state === "planned") ? { ...x, state: res.lifecycle_state } : x)));
      } catch (err) {
        failed.add(r.key);
        update(r.id, { state: "apply failed", message: errorText(err) });
      }
    }
    setBusy(false);
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
