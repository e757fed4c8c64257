import { PROVIDER_RE, RESOURCE_NAME_RE, TYPE_NAME_RE, resourceId } from "@pragma/contracts";

/**
 * Accepts every id form the API allows and returns the stored id. The stored id is
 * never split on "_" (names and types may contain it); the legacy forms carry
 * explicit separators that cannot occur inside provider or type names.
 */
export function normalizeResourceId(raw: string): string | null {
  const id = safeDecode(raw);
  if (id.startsWith("resource:")) return id;
  for (const sep of ["/", ":"]) {
    const parts = id.split(sep);
    if (parts.length >= 3) {
      const [provider, type, ...rest] = parts;
      const name = rest.join(sep);
      if (PROVIDER_RE.test(provider!) && TYPE_NAME_RE.test(type!) && RESOURCE_NAME_RE.test(name)) {
        return resourceId({ provider: provider!, resource: type!, name });
      }
    }
  }
  return null;
}

function safeDecode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

export const slashName = (r: { provider: string; resourceType: string; name: string }) => `${r.provider}/${r.resourceType}/${r.name}`;
