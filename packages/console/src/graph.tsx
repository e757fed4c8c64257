import { navigate } from "./lib/router";
import { idOf, keyOf } from "@pragma/cli-src/apply/references";

/** A node of the dependency graph: a resource (or a reference to one that is not in scope). */
export interface GraphNode {
  id: string;
  key: string;
  state?: string;
}

export interface Graph {
  /** Column of each node: 0 the resource, -k what it depends on (k steps away), +k what depends on it. */
  columns: Map<number, GraphNode[]>;
  /** `from` is the dependency, `to` its dependent: the arrow points the way outputs flow. */
  edges: { from: string; to: string }[];
  /** Nodes not drawn because a column was full. */
  hidden: number;
}

type Ref = { provider: string; resource: string; name: string };
type Res = { id: string; provider: string; resource: string; name: string; lifecycle_state?: string; dependencies?: Ref[] | null };


/** Levels drawn on each side, and nodes per column, so a hub resource stays readable. */
export const MAX_DEPTH = 3;
export const MAX_PER_COLUMN = 8;

/**
 * The resource's dependencies (transitively, to the left) and dependents (to the right),
 * each node in the column of its shortest distance, from the resources in scope.
 */
export function buildGraph(center: Res, all: readonly Res[]): Graph {
  const byId = new Map(all.map((r) => [r.id, r]));
  byId.set(center.id, center);
  const dependents = new Map<string, string[]>();
  for (const r of byId.values()) for (const d of r.dependencies ?? []) dependents.set(idOf(d), [...(dependents.get(idOf(d)) ?? []), r.id]);
  const node = (id: string, ref?: Ref): GraphNode => {
    const r = byId.get(id);
    return { id, key: r ? keyOf(r) : ref ? keyOf(ref) : id, state: r?.lifecycle_state };
  };
  const column = new Map<string, number>([[center.id, 0]]);
  const nodes = new Map<string, GraphNode>([[center.id, node(center.id)]]);
  const edges = new Map<string, { from: string; to: string }>();
  // Breadth first on each side: a node's column is its shortest distance from the resource.
  const walk = (sign: -1 | 1) => {
    let frontier = [center.id];
    for (let depth = 1; depth <= MAX_DEPTH && frontier.length; depth++) {
      const next: string[] = [];
      for (const id of frontier) {
        const neighbours: { id: string; ref?: Ref }[] =
          sign < 0 ? (byId.get(id)?.dependencies ?? []).map((d) => ({ id: idOf(d), ref: d })) : (dependents.get(id) ?? []).map((x) => ({ id: x }));
        for (const n of neighbours) {
          const [from, to] = sign < 0 ? [n.id, id] : [id, n.id];
          edges.set(`${from}\u0000${to}`, { from, to });
          if (column.has(n.id)) continue;
          column.set(n.id, sign * depth);
          nodes.set(n.id, node(n.id, n.ref));
          next.push(n.id);
        }
      }
      frontier = next;
    }
  };
  walk(-1);
  walk(1);
  const columns = new Map<number, GraphNode[]>();
  let hidden = 0;
  for (const [id, c] of column) {
    const list = columns.get(c) ?? [];
    if (list.length >= MAX_PER_COLUMN) {
      hidden++;
      column.delete(id);
      continue;
    }
    list.push(nodes.get(id)!);
    columns.set(c, list);
  }
  for (const list of columns.values()) list.sort((a, b) => a.key.localeCompare(b.key));
  return { columns, edges: [...edges.values()].filter((e) => column.has(e.from) && column.has(e.to)), hidden };
}

const W = 210;
const H = 34;
const GAP_X = 60;
const GAP_Y = 14;

const short = (s: string, n = 26) => (s.length > n ? `${s.slice(0, n - 1)}…` : s);

/**
 * The graph drawn as SVG: columns left to right, arrows from a dependency to its dependent,
 * each box coloured by state and a link to that resource's page. It repeats what the lists
 * beside it say, so it is hidden from assistive technology and from the tab order; the lists
 * are the accessible way.
 */
export function DependencyGraph({ graph, href }: { graph: Graph; href: (id: string) => string }) {
  const cols = [...graph.columns.keys()].sort((a, b) => a - b);
  if (cols.length <= 1) return null;
  const rows = Math.max(...[...graph.columns.values()].map((l) => l.length));
  const width = cols.length * (W + GAP_X) - GAP_X;
  const height = rows * (H + GAP_Y) - GAP_Y;
  const pos = new Map<string, { x: number; y: number }>();
  cols.forEach((c, i) => {
    const list = graph.columns.get(c)!;
    const offset = ((rows - list.length) * (H + GAP_Y)) / 2;
    list.forEach((n, j) => pos.set(n.id, { x: i * (W + GAP_X), y: offset + j * (H + GAP_Y) }));
  });
  return (
    <figure className="graph" aria-hidden="true">
      <svg viewBox={`-2 -2 ${width + 4} ${height + 4}`} width={width + 4} height={height + 4}>
        <defs>
          <marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse">
            <path d="M 0 0 L 10 5 L 0 10 z" className="graph-arrow" />
          </marker>
        </defs>
        {graph.edges.map((e) => {
          const a = pos.get(e.from)!;
          const b = pos.get(e.to)!;
          const [x1, y1, x2, y2] = [a.x + W, a.y + H / 2, b.x, b.y + H / 2];
          const mid = (x1 + x2) / 2;
          return <path key={`${e.from}>${e.to}`} className="graph-edge" d={`M ${x1} ${y1} C ${mid} ${y1}, ${mid} ${y2}, ${x2 - 2} ${y2}`} markerEnd="url(#arrow)" />;
        })}
        {cols.flatMap((c) =>
          graph.columns.get(c)!.map((n) => {
            const p = pos.get(n.id)!;
            return (
              <a
                key={n.id}
                href={href(n.id)}
                tabIndex={-1}
                className={`graph-node state-${n.state ?? "unknown"}${c === 0 ? " graph-center" : ""}`}
                data-id={n.id}
                onClick={(e) => {
                  if (e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
                  e.preventDefault();
                  navigate(href(n.id));
                }}
              >
                <title>{`${n.key} (${n.state ?? "not in scope"})`}</title>
                <rect x={p.x} y={p.y} width={W} height={H} rx={5} />
                <text x={p.x + 8} y={p.y + 14}>{short(n.key)}</text>
                <text x={p.x + 8} y={p.y + 28} className="graph-state">{n.state ?? "not in scope"}</text>
              </a>
            );
          }),
        )}
      </svg>
      {graph.hidden > 0 ? <figcaption className="muted">{graph.hidden} more not drawn (see the lists)</figcaption> : null}
    </figure>
  );
}
