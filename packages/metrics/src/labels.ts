/**
 * A metric child per label-value tuple, made once: prom-client's `labels(...)` validates
 * the names and builds a child on every call, which the hot paths (every HTTP request,
 * RPC and worker event) should not pay. Two levels of Map lookups instead. Label values
 * must come from closed sets (route templates, request types, states), never ids.
 */
export function memo2<T>(make: (a: string, b: string) => T): (a: string, b: string) => T {
  const outer = new Map<string, Map<string, T>>();
  return (a, b) => {
    let inner = outer.get(a);
    if (!inner) outer.set(a, (inner = new Map()));
    let v = inner.get(b);
    if (v === undefined) inner.set(b, (v = make(a, b)));
    return v;
  };
}

export function memo3<T>(make: (a: string, b: string, c: string) => T): (a: string, b: string, c: string) => T {
  const outer = new Map<string, (b: string, c: string) => T>();
  return (a, b, c) => {
    let inner = outer.get(a);
    if (!inner) outer.set(a, (inner = memo2((x, y) => make(a, x, y))));
    return inner(b, c);
  };
}

/** HTTP status codes as label strings without building one per request. */
const STATUS = Array.from({ length: 600 }, (_, i) => String(i));
export function statusLabel(code: number): string {
  return STATUS[code] ?? "other";
}
