import { useEffect, useState, type FormEvent } from "react";
import { api, errorText, loggedIn, login, logout, setTenancy, tenancy, type Me } from "./lib/api";
import { href, navigate, useLocation } from "./lib/router";
import { ErrorBox, Link } from "./components";
import { ResourcesPage } from "./pages/Resources";
import { ResourcePage } from "./pages/Resource";
import { ApplyPage } from "./pages/Apply";
import { DeadLettersPage } from "./pages/DeadLetters";
import { AdminPage } from "./pages/Admin";
import { ProviderPage, ProvidersPage } from "./pages/Providers";

export const isOperator = (me: Me) => me.role === "operator" || me.role === "admin";

function Login({ onDone }: { onDone: (me: Me) => void }) {
  const [key, setKey] = useState("");
  const [error, setError] = useState<unknown>();
  const [busy, setBusy] = useState(false);
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setError(undefined);
    try {
      onDone(await login(key));
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };
  return (
    <main className="login">
      <h1>Pragma console</h1>
      <form onSubmit={submit}>
        <label htmlFor="api-key">API key</label>
        <input id="api-key" name="api-key" type="password" autoComplete="off" value={key} onChange={(e) => setKey(e.target.value)} required />
        <p className="hint">The key is exchanged for a short-lived token and kept only in this tab (session storage).</p>
        <button type="submit" disabled={busy || !key.trim()}>
          Log in
        </button>
        <ErrorBox error={error} />
      </form>
    </main>
  );
}

function Tenancy({ me, onChange }: { me: Me; onChange: () => void }) {
  const t = tenancy();
  const [project, setProject] = useState(t.project ?? "");
  const [space, setSpace] = useState(t.space ?? "");
  return (
    <form
      className="tenancy"
      onSubmit={(e) => {
        e.preventDefault();
        setTenancy(project.trim(), space.trim());
        onChange();
      }}
    >
      <label>
        Project <input value={project} placeholder={me.project_id ?? "X-Project-Id"} onChange={(e) => setProject(e.target.value)} size={18} />
      </label>
      <label>
        Space <input value={space} placeholder={me.space_id ?? "X-Space-Id"} onChange={(e) => setSpace(e.target.value)} size={18} />
      </label>
      <button type="submit">Use</button>
    </form>
  );
}

export function App() {
  const loc = useLocation();
  const [me, setMe] = useState<Me | undefined>();
  const [error, setError] = useState<unknown>();
  const [generation, setGeneration] = useState(0);

  useEffect(() => {
    if (!loggedIn()) return;
    api<Me>("GET", "/auth/me").then(setMe, (err) => {
      setError(err);
      logout();
    });
  }, []);

  if (!me) {
    if (loggedIn() && !error) return <p className="loading">Loading…</p>;
    return (
      <>
        {error ? <p className="error" role="alert">{errorText(error)}</p> : null}
        <Login onDone={setMe} />
      </>
    );
  }

  const [section, ...rest] = loc.path.split("/");
  const nav: [string, string][] = [
    ["resources", "Resources"],
    ["apply", "Apply"],
    ["providers", "Providers"],
    ...(isOperator(me) ? ([["dead-letters", "Dead letters"]] as [string, string][]) : []),
    ...(me.role === "admin" ? ([["admin", "Org & projects"]] as [string, string][]) : []),
  ];
  let page;
  switch (section) {
    case "":
    case "resources":
      page = rest.length ? <ResourcePage key={generation} me={me} id={rest.join("/")} /> : <ResourcesPage key={generation} />;
      break;
    case "apply":
      page = <ApplyPage key={generation} />;
      break;
    case "providers":
      page = rest.length ? <ProviderPage key={`${generation}:${rest.join("/")}`} me={me} id={rest.join("/")} /> : <ProvidersPage key={generation} />;
      break;
    case "dead-letters":
      page = isOperator(me) ? <DeadLettersPage key={generation} /> : <p>Dead-letter operations need the operator or admin role.</p>;
      break;
    case "admin":
      page = me.role === "admin" ? <AdminPage key={generation} me={me} /> : <p>Org and project settings need the admin role.</p>;
      break;
    default:
      page = <p>No such page.</p>;
  }
  return (
    <>
      <a className="skip" href="#main">
        Skip to content
      </a>
      <header>
        <nav aria-label="Main">
          <strong className="brand">Pragma</strong>
          <ul>
            {nav.map(([path, label]) => (
              <li key={path}>
                <Link href={href(path)} aria-current={section === path || (path === "resources" && section === "") ? "page" : undefined}>
                  {label}
                </Link>
              </li>
            ))}
          </ul>
        </nav>
        <div className="who">
          <span>
            {me.organization_name ?? me.organization_id} · <span className="role">{me.role}</span>
          </span>
          <Tenancy me={me} onChange={() => setGeneration((g) => g + 1)} />
          <button
            type="button"
            onClick={() => {
              logout();
              setMe(undefined);
              navigate(href("resources"));
            }}
          >
            Log out
          </button>
        </div>
      </header>
      <main id="main" tabIndex={-1}>
        {page}
      </main>
    </>
  );
}
