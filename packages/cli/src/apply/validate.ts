import { ApplyResourceBody, Resource } from "@pragma/contracts";
import type { SourceDocument } from "./parse";
import { orderResources } from "./order";
import { describeSource, type Problem, type Source } from "./problem";
import { extractReferences, idOf, keyOf, parseSlashKey, type FieldReference, type ResourceKey } from "./references";

export interface PlannedResource {
  /** provider/resource/name */
  key: string;
  id: string;
  source: Source;
  /** The document as it will be sent (server-populated fields dropped, no lifecycle_state yet). */
  body: ApplyResourceBody;
  /** Every resource this one needs first: dependencies, depends_on and config references, merged. */
  dependsOn: string[];
  references: FieldReference[];
}

/** The apply body's fields (the API's own schema), but the state: the command chooses it (--draft), not the file. */
const DOCUMENT_FIELDS = new Set(Object.keys(ApplyResourceBody.shape).filter((k) => k !== "lifecycle_state"));

/**
 * Fields the API writes (a resource's fields that are no apply field, and the state).
 * Dropping them lets `pragma resources get X -o yaml > x.yaml` be edited and re-applied.
 */
const SERVER_FIELDS = new Set([...Object.keys(Resource.shape).filter((k) => !DOCUMENT_FIELDS.has(k)), "lifecycle_state"]);

/**
 * Checks every document before anything is sent, and reports every problem at once:
 * shape (the API's own zod schema), unknown keys, malformed depends_on and references,
 * duplicates across all files, and dependency cycles among the documents. Returns the
 * resources in the order they must be applied.
 */
export function validateDocuments(documents: readonly SourceDocument[]): { resources: PlannedResource[]; problems: Problem[] } {
  const problems: Problem[] = [];
  const planned: PlannedResource[] = [];
  const firstSeen = new Map<string, Source>();

  for (const { source, value } of documents) {
    if (!value || typeof value !== "object" || Array.isArray(value)) {
      problems.push({ source, message: "expected a mapping with provider, resource, name and config" });
      continue;
    }
    const raw: Record<string, unknown> = {};
    let ok = true;
    for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
      if (SERVER_FIELDS.has(k)) continue;
      if (!DOCUMENT_FIELDS.has(k)) {
        problems.push({ source, message: `unknown field "${k}" (allowed: ${[...DOCUMENT_FIELDS].join(", ")})` });
        ok = false;
        continue;
      }
      raw[k] = v;
    }
    const parsed = ApplyResourceBody.safeParse(raw);
    if (!parsed.success) {
      for (const issue of parsed.error.issues) {
        const at = issue.path.length ? issue.path.join(".") : "document";
        problems.push({ source, message: `${at}: ${issue.message}` });
      }
      continue;
    }
    const body = parsed.data;
    const key = keyOf(body);

    const deps: ResourceKey[] = [...(body.dependencies ?? [])];
    for (const [i, s] of (body.depends_on ?? []).entries()) {
      const dep = parseSlashKey(s);
      if (dep) deps.push(dep);
      else {
        problems.push({ source, message: `depends_on[${i}]: "${s}" is not provider/resource/name` });
        ok = false;
      }
    }
    const refs = extractReferences(body.config);
    for (const p of refs.problems) problems.push({ source, message: p });
    if (refs.problems.length) ok = false;

    const earlier = firstSeen.get(key);
    if (earlier) {
      problems.push({ source, message: `duplicate resource ${key} (first defined in ${describeSource(earlier)})` });
      continue;
    }
    firstSeen.set(key, source);
    if (!ok) continue;

    const dependsOn = [...new Set([...deps.map(keyOf), ...refs.references.map(keyOf)])];
    planned.push({ key, id: idOf(body), source, body, dependsOn, references: refs.references });
  }

  const { ordered, cycles } = orderResources(planned);
  const sources = new Map(planned.map((p) => [p.key, p.source]));
  for (const cycle of cycles) {
    problems.push({
      source: sources.get(cycle[0]!),
      message: `dependency cycle: ${cycle.join(" → ")} (${[...new Set(cycle)].map((k) => describeSource(sources.get(k)!)).join(", ")})`,
    });
  }
  return { resources: problems.length ? [] : ordered, problems };
}
