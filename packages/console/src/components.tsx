import { useState, type AnchorHTMLAttributes, type ReactNode } from "react";
import { errorText } from "./lib/api";
import { navigate } from "./lib/router";

/** A real link (keyboard, middle click, copy address) that navigates without a reload. */
export function Link(props: AnchorHTMLAttributes<HTMLAnchorElement> & { href: string }) {
  return (
    <a
      {...props}
      onClick={(e) => {
        if (e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
        e.preventDefault();
        navigate(props.href);
      }}
    />
  );
}

/** The API's own words (its `detail`), announced to screen readers. */
export function ErrorBox({ error }: { error: unknown }) {
  if (!error) return null;
  return (
    <p className="error" role="alert">
      {errorText(error)}
    </p>
  );
}

export function StateBadge({ state }: { state: string | undefined }) {
  return <span className={`state state-${state ?? "unknown"}`}>{state ?? "unknown"}</span>;
}

export function Json({ value, label }: { value: unknown; label: string }) {
  return (
    <pre className="json" role="region" aria-label={label} tabIndex={0}>
      {JSON.stringify(value ?? null, null, 2)}
    </pre>
  );
}

/**
 * A button that asks before it acts: the first press shows what will happen and a
 * Confirm / Cancel pair; the action's error (the API's detail) shows beside it.
 */
export function ConfirmButton(props: { label: string; question: ReactNode; action: () => Promise<void>; danger?: boolean; disabled?: boolean }) {
  const [asking, setAsking] = useState(false);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>();
  if (!asking) {
    return (
      <span className="confirm">
        <button type="button" className={props.danger ? "danger" : undefined} disabled={props.disabled} onClick={() => { setError(undefined); setAsking(true); }}>
          {props.label}
        </button>
        <ErrorBox error={error} />
      </span>
    );
  }
  return (
    <span className="confirm asking" role="group" aria-label={`Confirm: ${props.label}`}>
      <span>{props.question}</span>
      <button
        type="button"
        className={props.danger ? "danger" : undefined}
        disabled={busy}
        autoFocus
        onClick={async () => {
          setBusy(true);
          try {
            await props.action();
            setAsking(false);
          } catch (err) {
            setError(err);
            setAsking(false);
          } finally {
            setBusy(false);
          }
        }}
      >
        Confirm
      </button>
      <button type="button" onClick={() => setAsking(false)}>
        Cancel
      </button>
    </span>
  );
}
