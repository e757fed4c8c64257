/**
 * The Kubernetes manifests (infra/k8s) rendered with `kubectl kustomize` and validated
 * against the Kubernetes and KEDA schemas plus the operators' required fields, by
 * scripts/validate-k8s.mjs. kubectl missing fails this test with the command that
 * installs it (.ci/run installs it).
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";

const root = join(__dirname, "..", "..");
const script = join(root, "scripts", "validate-k8s.mjs");

interface Result {
  dir: string;
  objects: number;
  kinds: Record<string, number>;
  problems: string[];
}

function run(args: string[], env: NodeJS.ProcessEnv = process.env) {
  const r = spawnSync(process.execPath, [script, ...args], { cwd: root, encoding: "utf8", env });
  const results = r.stdout
    .split("\n")
    .filter(Boolean)
    .map((l) => JSON.parse(l) as Result);
  return { status: r.status, stderr: r.stderr, results };
}

it("kubectl is installed (the manifests are rendered with it)", () => {
  const r = spawnSync("kubectl", ["version", "--client"], { encoding: "utf8" });
  if (r.error) throw new Error("kubectl not found: install it (Debian/Ubuntu): sudo apt-get update && sudo apt-get install -y kubectl");
  expect(r.status).toBe(0);
});

it("every overlay renders and validates: schemas, operators' required fields, probes, PDBs, HPA, KEDA on the code's work queues, only the gateway exposed", () => {
  const { status, stderr, results } = run([]);
  expect(stderr).toBe("");
  expect(results.map((r) => r.dir.split("/").pop()).sort()).toEqual(["dev", "production"]);
  for (const r of results) {
    expect({ dir: r.dir, problems: r.problems }).toEqual({ dir: r.dir, problems: [] });
    expect(r.kinds).toMatchObject({ Deployment: 5, PodDisruptionBudget: 4, HorizontalPodAutoscaler: 1, ScaledObject: 1, RabbitmqCluster: 1, Cluster: 1 });
    expect(r.kinds.Secret).toBeUndefined();
  }
  expect(status).toBe(0);
});

it("production runs 3 RabbitMQ nodes and 3 PostgreSQL instances", () => {
  const r = spawnSync("kubectl", ["kustomize", join(root, "infra/k8s/overlays/production")], { encoding: "utf8" });
  expect(r.status).toBe(0);
  expect(r.stdout).toMatch(/kind: RabbitmqCluster[\s\S]*?\n {2}replicas: 3\n/);
  expect(r.stdout).toMatch(/kind: Cluster[\s\S]*?\n {2}instances: 3\n/);
});

it("a broken overlay is refused, naming each problem", () => {
  const dir = mkdtempSync(join(tmpdir(), "pragma-k8s-broken-"));
  try {
    writeFileSync(
      join(dir, "kustomization.yaml"),
      `apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
resources:
  - ${relative(dir, join(root, "infra/k8s/base"))}
  - extra.yaml
patches:
  - target: { kind: Deployment, name: pragma-gateway }
    patch: |-
      - op: replace
        path: /spec/template/spec/containers/0/ports/0/containerPort
        value: "eighty"
  - target: { kind: Deployment, name: pragma-registry }
    patch: |-
      - op: remove
        path: /spec/template/spec/containers/0/readinessProbe
  - target: { kind: RabbitmqCluster, name: pragma-rabbitmq }
    patch: |-
      - op: replace
        path: /spec/replicas
        value: three
  - target: { kind: ScaledObject, name: pragma-provider-worker }
    patch: |-
      - op: remove
        path: /spec/triggers/2
`,
    );
    writeFileSync(
      join(dir, "extra.yaml"),
      `apiVersion: v1
kind: Secret
metadata: { name: oops }
stringData: { PRAGMA_SERVER_KEY: hunter2 }
---
apiVersion: v1
kind: Service
metadata: { name: registry-public }
spec:
  type: NodePort
  selector: { app.kubernetes.io/name: pragma-registry }
  ports: [{ port: 80 }]
---
apiVersion: example.com/v1
kind: Unknown
metadata: { name: mystery }
`,
    );
    const { status, results } = run([dir]);
    expect(status).toBe(1);
    const problems = results[0]!.problems.join("\n");
    expect(problems).toMatch(/Deployment\/pragma-gateway: .*containerPort/);
    expect(problems).toMatch(/Deployment pragma-registry: needs a readiness and a liveness probe/);
    expect(problems).toMatch(/RabbitmqCluster\/pragma-rabbitmq: spec.replicas must be an integer/);
    expect(problems).toMatch(/ScaledObject triggers on \["work.postgres","work.pragma","work.pushed"\], but the code's work queues are \["work.mysql","work.postgres","work.pragma","work.pushed"\]/);
    expect(problems).toMatch(/Secrets must not be in the manifests.*oops/);
    expect(problems).toMatch(/Service registry-public is exposed \(NodePort\)/);
    expect(problems).toMatch(/Unknown\/mystery: no schema/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

it("without kubectl the validation stops with the command that installs it", () => {
  const { status, stderr } = run([], { ...process.env, KUBECTL: "/nonexistent/kubectl" });
  expect(status).toBe(2);
  expect(stderr).toMatch(/kubectl not found.*apt-get install -y kubectl/);
});
