export interface Node {
  key: string;
  /** Keys this node needs first; keys not among the nodes (already on the server) are ignored. */
  dependsOn: readonly string[];
}

/**
 * Dependency order, stable with respect to the input (among nodes that are free to go,
 * the one written first goes first, so output follows the files when nothing forces
 * otherwise). Nodes on or behind a cycle are left out of `ordered`; every cycle is
 * returned as a real path `a → b → … → a`.
 */
export function orderResources<T extends Node>(nodes: readonly T[]): { ordered: T[]; cycles: string[][] } {
  const byKey = new Map(nodes.map((n) => [n.key, n]));
  const local = (n: Node) => [...new Set(n.dependsOn)].filter((d) => byKey.has(d));
  const placed = new Set<string>();
  const ordered: T[] = [];
  let remaining = [...nodes];
  for (;;) {
    const next = remaining.find((n) => local(n).every((d) => placed.has(d)));
    if (!next) break;
    placed.add(next.key);
    ordered.push(next);
    remaining = remaining.filter((n) => n !== next);
  }
  return { ordered, cycles: findCycles(remaining, local) };
}

function findCycles<T extends Node>(nodes: readonly T[], edges: (n: Node) => string[]): string[][] {
  const within = new Map(nodes.map((n) => [n.key, n]));
  const sccs = stronglyConnected(nodes, (n) => edges(n).filter((d) => within.has(d)));
  const cycles: string[][] = [];
  for (const scc of sccs) {
    const members = new Set(scc);
    const first = scc[0]!;
    const selfLoop = edges(within.get(first)!).includes(first);
    if (scc.length === 1 && !selfLoop) continue;
    // Every member has a successor inside the component, so this walk must revisit a node: a real cycle.
    const path: string[] = [];
    const seenAt = new Map<string, number>();
    let at = first;
    while (!seenAt.has(at)) {
      seenAt.set(at, path.length);
      path.push(at);
      at = edges(within.get(at)!).find((d) => members.has(d))!;
    }
    cycles.push([...path.slice(seenAt.get(at)!), at]);
  }
  return cycles;
}

/** Tarjan's algorithm; components come out in input order of their first member. */
function stronglyConnected<T extends Node>(nodes: readonly T[], edges: (n: T) => string[]): string[][] {
  const byKey = new Map(nodes.map((n) => [n.key, n]));
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const onStack = new Set<string>();
  const stack: string[] = [];
  const out: string[][] = [];
  let counter = 0;

  const connect = (key: string): void => {
    index.set(key, counter);
    low.set(key, counter);
    counter++;
    stack.push(key);
    onStack.add(key);
    for (const next of edges(byKey.get(key)!)) {
      if (!index.has(next)) {
        connect(next);
        low.set(key, Math.min(low.get(key)!, low.get(next)!));
      } else if (onStack.has(next)) {
        low.set(key, Math.min(low.get(key)!, index.get(next)!));
      }
    }
    if (low.get(key) === index.get(key)) {
      const component: string[] = [];
      let member: string;
      do {
        member = stack.pop()!;
        onStack.delete(member);
        component.push(member);
      } while (member !== key);
      const order = new Map(nodes.map((n, i) => [n.key, i]));
      out.push(component.sort((a, b) => order.get(a)! - order.get(b)!));
    }
  };

  for (const n of nodes) if (!index.has(n.key)) connect(n.key);
  const order = new Map(nodes.map((n, i) => [n.key, i]));
  return out.sort((a, b) => order.get(a[0]!)! - order.get(b[0]!)!);
}
