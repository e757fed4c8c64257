import { useCallback, useEffect, useState } from "react";
import { DEAD_LETTER_REASONS, type DeadLetterEntry } from "@pragma/contracts";
import { api } from "../lib/api";
import { href } from "../lib/router";
import { ConfirmButton, ErrorBox, Json, Link } from "../components";

const dlPath = (eventId: string) => `/ops/dead-letter/${encodeURIComponent(eventId)}`;

function Entry({ entry, onDone }: { entry: DeadLetterEntry; onDone: (message: string) => void }) {
  const [full, setFull] = useState<DeadLetterEntry | undefined>();
  const [error, setError] = useState<unknown>();
  const label = `${entry.provider}/${entry.resource_type}/${entry.resource_name}`;
  return (
    <li className="dl-entry" data-event-id={entry.event_id}>
      <div className="dl-head">
        <Link href={href(`resources/${entry.resource_id}`)}>{label}</Link>
        <span className="reason">{entry.reason}</span>
        <span>{entry.event_type}</span>
        <span>
          {entry.attempt_count} attempt{entry.attempt_count === 1 ? "" : "s"}
        </span>
        <span>{new Date(entry.failed_at).toLocaleString()}</span>
      </div>
      <p className="dl-error">{entry.error_message}</p>
      <div className="actions">
        <button
          type="button"
          aria-expanded={full !== undefined}
          onClick={() => (full ? setFull(undefined) : api<DeadLetterEntry>("GET", dlPath(entry.event_id)).then(setFull, setError))}
        >
          {full ? "Hide" : "Inspect"} <span className="sr-only">{label}</span>
        </button>
        <ConfirmButton
          label={`Retry`}
          question={`Re-queue the ${entry.event_type} of ${label} with a fresh attempt budget?`}
          action={async () => {
            await api("POST", `${dlPath(entry.event_id)}/retry`);
            onDone(`Retried ${label}.`);
          }}
        />
        <ConfirmButton
          label="Delete"
          danger
          question={`Discard this dead letter of ${label}? The resource stays as it is.`}
          action={async () => {
            await api("DELETE", dlPath(entry.event_id));
            onDone(`Deleted the dead letter of ${label}.`);
          }}
        />
      </div>
      <ErrorBox error={error} />
      {full ? (
        <div className="dl-detail">
          <h3>Payload</h3>
          <Json value={full.payload} label="Payload" />
          <h3>Attempts</h3>
          <ol>
            {full.attempts.map((a, i) => (
              <li key={i}>
                <time dateTime={a.at}>{new Date(a.at).toLocaleString()}</time>: {a.error}
              </li>
            ))}
          </ol>
          <p>
            Event {full.event_id}, correlation {full.correlation_id ?? "none"}
          </p>
        </div>
      ) : null}
    </li>
  );
}

export function DeadLettersPage() {
  const [provider, setProvider] = useState("");
  const [reason, setReason] = useState("");
  const [applied, setApplied] = useState({ provider: "", reason: "" });
  const [entries, setEntries] = useState<DeadLetterEntry[] | undefined>();
  const [error, setError] = useState<unknown>();
  const [notice, setNotice] = useState("");

  const load = useCallback(async () => {
    try {
      const list = await api<DeadLetterEntry[]>("GET", "/ops/dead-letter", { query: { provider: applied.provider, reason: applied.reason } });
      // The store filters by provider; the reason is matched here too, whatever the server did.
      setEntries(list.filter((e) => !applied.reason || e.reason === applied.reason));
      setError(undefined);
    } catch (err) {
      setError(err);
    }
  }, [applied]);

  useEffect(() => {
    void load();
  }, [load]);

  const done = (message: string) => {
    setNotice(message);
    void load();
  };

  return (
    <section aria-labelledby="dl-h">
      <h1 id="dl-h">Dead letters</h1>
      <form
        className="filters"
        onSubmit={(e) => {
          e.preventDefault();
          setApplied({ provider: provider.trim(), reason });
        }}
      >
        <label>
          Provider <input name="provider" value={provider} onChange={(e) => setProvider(e.target.value)} />
        </label>
        <label>
          Reason{" "}
          <select name="reason" value={reason} onChange={(e) => setReason(e.target.value)}>
            <option value="">any</option>
            {DEAD_LETTER_REASONS.map((r) => (
              <option key={r}>{r}</option>
            ))}
          </select>
        </label>
        <button type="submit">Filter</button>
        <button type="button" onClick={() => void load()}>
          Refresh
        </button>
      </form>
      <div className="actions bulk">
        <ConfirmButton
          label={applied.provider ? `Retry all of ${applied.provider}` : "Retry all"}
          question={applied.provider ? `Re-queue every dead letter of provider ${applied.provider}?` : "Re-queue every dead letter in this project and space?"}
          action={async () => {
            const r = await api<{ retried_count: number }>("POST", "/ops/dead-letter/retry-all", { query: { provider: applied.provider } });
            done(`Retried ${r.retried_count}.`);
          }}
        />
        <ConfirmButton
          label={applied.provider ? `Delete all of ${applied.provider}` : "Delete all"}
          danger
          question={applied.provider ? `Discard every dead letter of provider ${applied.provider}?` : "Discard every dead letter in this project and space?"}
          action={async () => {
            const r = await api<{ deleted_count: number }>("DELETE", "/ops/dead-letter", { query: applied.provider ? { provider: applied.provider } : { all: "true" } });
            done(`Deleted ${r.deleted_count}.`);
          }}
        />
      </div>
      <p role="status" className="status">
        {notice}
      </p>
      <ErrorBox error={error} />
      {entries && !entries.length ? <p>No dead letters{applied.provider || applied.reason ? " match" : ""}.</p> : null}
      <ul className="dl-list">
        {(entries ?? []).map((e) => (
          <Entry key={e.event_id} entry={e} onDone={done} />
        ))}
      </ul>
    </section>
  );
}
