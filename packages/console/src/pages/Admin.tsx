import { useCallback, useEffect, useState, type FormEvent } from "react";
import type { ApiKey, DatabaseEntry, Project, Space } from "@pragma/contracts";
import { api, type Me } from "../lib/api";
import { ConfirmButton, ErrorBox } from "../components";

type DbForm = DatabaseEntry & { password: string };

/**
 * A project's databases: shown without passwords (the API never returns one). Saving
 * replaces every entry (PATCH semantics), so each entry's password is asked for again.
 */
function Databases({ me, project, onSaved }: { me: Me; project: Project; onSaved: (p: Project) => void }) {
  const [form, setForm] = useState<DbForm[]>(project.database.map((d) => ({ ...d, password: "" })));
  const [error, setError] = useState<unknown>();
  const [saved, setSaved] = useState("");
  const set = (i: number, patch: Partial<DbForm>) => setForm(form.map((d, j) => (j === i ? { ...d, ...patch } : d)));
  const save = async (e: FormEvent) => {
    e.preventDefault();
    setError(undefined);
    setSaved("");
    try {
      const p = await api<Project>("PATCH", `/orgs/${me.organization_id}/projects/${project.project_id}`, { body: { database: form } });
      setSaved("Saved: the project's connection pools rebuild with the new credentials.");
      setForm(p.database.map((d) => ({ ...d, password: "" })));
      onSaved(p);
    } catch (err) {
      setError(err);
    }
  };
  return (
    <form onSubmit={save} aria-label="Databases">
      {form.map((d, i) => (
        <fieldset key={i}>
          <legend>
            Database {i + 1}: {d.db_type} {d.db_name}
          </legend>
          <div className="grid">
            <label>
              Host <input value={d.host} onChange={(e) => set(i, { host: e.target.value })} />
            </label>
            <label>
              Port <input value={d.port} inputMode="numeric" onChange={(e) => set(i, { port: e.target.value })} />
            </label>
            <label>
              Username <input name={`username-${i}`} value={d.username} onChange={(e) => set(i, { username: e.target.value })} />
            </label>
            <label>
              Password (enter to save) <input name={`password-${i}`} type="password" autoComplete="new-password" value={d.password} onChange={(e) => set(i, { password: e.target.value })} />
            </label>
            <label>
              Database <input value={d.db_name} onChange={(e) => set(i, { db_name: e.target.value })} />
            </label>
            <label>
              Type{" "}
              <select value={d.db_type} onChange={(e) => set(i, { db_type: e.target.value as DbForm["db_type"] })}>
                <option>postgres</option>
                <option>mysql</option>
              </select>
            </label>
          </div>
        </fieldset>
      ))}
      <button type="submit">Save databases</button>
      <ErrorBox error={error} />
      <p role="status">{saved}</p>
    </form>
  );
}

function Keys({ me, projects }: { me: Me; projects: Project[] }) {
  const [keys, setKeys] = useState<ApiKey[]>([]);
  const [name, setName] = useState("");
  const [role, setRole] = useState<ApiKey["role"]>("member");
  const [project, setProject] = useState("");
  const [created, setCreated] = useState<string | undefined>();
  const [error, setError] = useState<unknown>();
  const base = `/orgs/${me.organization_id}/api-keys`;
  const load = useCallback(() => api<ApiKey[]>("GET", base).then(setKeys, setError), [base]);
  useEffect(() => {
    void load();
  }, [load]);
  const create = async (e: FormEvent) => {
    e.preventDefault();
    setError(undefined);
    try {
      const p = projects.find((x) => x.project_id === project);
      const k = await api<ApiKey & { api_key: string }>("POST", base, { body: { name, role, ...(p ? { project_id: p.project_id, space_id: p.space_id } : {}) } });
      setCreated(k.api_key);
      setName("");
      void load();
    } catch (err) {
      setError(err);
    }
  };
  return (
    <section aria-labelledby="keys-h">
      <h2 id="keys-h">API keys</h2>
      <form className="filters" onSubmit={create}>
        <label>
          Name <input name="key-name" value={name} onChange={(e) => setName(e.target.value)} />
        </label>
        <label>
          Role{" "}
          <select name="key-role" value={role} onChange={(e) => setRole(e.target.value as ApiKey["role"])}>
            <option>member</option>
            <option>operator</option>
            <option>admin</option>
          </select>
        </label>
        <label>
          Project{" "}
          <select name="key-project" value={project} onChange={(e) => setProject(e.target.value)}>
            <option value="">none (org-wide)</option>
            {projects.map((p) => (
              <option key={p.project_id} value={p.project_id}>
                {p.name}
              </option>
            ))}
          </select>
        </label>
        <button type="submit">Create key</button>
      </form>
      <ErrorBox error={error} />
      {created ? (
        <div className="once" role="status">
          <p>The new key, shown this once (only its hash is stored):</p>
          <code className="secret">{created}</code>
          <button type="button" onClick={() => setCreated(undefined)}>
            I have stored it
          </button>
        </div>
      ) : null}
      <div className="table-wrap">
        <table>
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">Role</th>
              <th scope="col">Prefix</th>
              <th scope="col">Project</th>
              <th scope="col">State</th>
              <th scope="col">Action</th>
            </tr>
          </thead>
          <tbody>
            {keys.map((k) => (
              <tr key={k.key_id}>
                <td>{k.name}</td>
                <td>{k.role}</td>
                <td>
                  <code>{k.prefix}</code>
                </td>
                <td>{k.project_id ?? "org-wide"}</td>
                <td>{k.revoked_at ? `revoked ${new Date(k.revoked_at).toLocaleString()}` : "active"}</td>
                <td>
                  {k.revoked_at ? null : (
                    <ConfirmButton
                      label="Revoke"
                      danger
                      question={`Revoke ${k.name}? Its tokens stop working within a second.`}
                      action={async () => {
                        await api("DELETE", `${base}/${k.key_id}`);
                        void load();
                      }}
                    />
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </section>
  );
}

function ProjectView({ me, project, onChange }: { me: Me; project: Project; onChange: (p: Project) => void }) {
  const [spaces, setSpaces] = useState<Space[]>([]);
  const [spaceName, setSpaceName] = useState("");
  const [error, setError] = useState<unknown>();
  const base = `/orgs/${me.organization_id}/projects/${project.project_id}`;
  const load = useCallback(() => api<Space[]>("GET", `${base}/spaces`).then(setSpaces, setError), [base]);
  useEffect(() => {
    void load();
  }, [load]);
  return (
    <section aria-labelledby={`p-${project.project_id}`} className="project">
      <h2 id={`p-${project.project_id}`}>
        Project {project.name} <code>{project.project_id}</code>
      </h2>
      <p>{project.description}</p>
      <h3>Spaces</h3>
      <ul>
        {spaces.map((s) => (
          <li key={s.space_id}>
            {s.name} <code>{s.space_id}</code> {s.is_default ? "(default)" : ""}
          </li>
        ))}
      </ul>
      <form
        className="filters"
        onSubmit={async (e) => {
          e.preventDefault();
          try {
            await api("POST", `${base}/spaces`, { body: { name: spaceName } });
            setSpaceName("");
            setError(undefined);
            void load();
          } catch (err) {
            setError(err);
          }
        }}
      >
        <label>
          New space <input value={spaceName} onChange={(e) => setSpaceName(e.target.value)} />
        </label>
        <button type="submit">Create space</button>
      </form>
      <ErrorBox error={error} />
      <h3>Databases</h3>
      <Databases key={project.project_id} me={me} project={project} onSaved={onChange} />
    </section>
  );
}

export function AdminPage({ me }: { me: Me }) {
  const [org, setOrg] = useState<Record<string, unknown> | undefined>();
  const [projects, setProjects] = useState<Project[]>([]);
  const [selected, setSelected] = useState<string>(me.project_id ?? "");
  const [error, setError] = useState<unknown>();
  useEffect(() => {
    api<Record<string, unknown>>("GET", `/orgs/${me.organization_id}`).then(setOrg, setError);
    api<Project[]>("GET", `/orgs/${me.organization_id}/projects`).then((ps) => {
      setProjects(ps);
      setSelected((cur) => cur || ps[0]?.project_id || "");
    }, setError);
  }, [me.organization_id]);
  const project = projects.find((p) => p.project_id === selected);
  return (
    <div>
      <h1>Organization {String(org?.name ?? me.organization_id)}</h1>
      <ErrorBox error={error} />
      <label>
        Project{" "}
        <select name="project" value={selected} onChange={(e) => setSelected(e.target.value)}>
          {projects.map((p) => (
            <option key={p.project_id} value={p.project_id}>
              {p.name} ({p.abbreviation})
            </option>
          ))}
        </select>
      </label>
      {project ? <ProjectView me={me} project={project} onChange={(p) => setProjects(projects.map((x) => (x.project_id === p.project_id ? p : x)))} /> : null}
      <Keys me={me} projects={projects} />
    </div>
  );
}
