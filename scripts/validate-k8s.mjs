#!/usr/bin/env node
// Renders the Kubernetes manifests and validates them (test/infra/k8s.test.ts runs it
// in `npm test`; run it alone after editing infra/k8s/):
//
//   node scripts/validate-k8s.mjs [<kustomization dir> ...]   default: every infra/k8s/overlays/*
//
// For each directory: `kubectl kustomize <dir>` (kubectl from Debian: apt-get install -y
// kubectl), then every object rendered is checked against the JSON schema of its kind from
// kubernetes-models (core kinds) or @kubernetes-models/keda (ScaledObject,
// TriggerAuthentication). RabbitmqCluster and CloudNativePG's Cluster have no schema
// package: their required fields are checked here. A kind with neither is an error, so
// nothing is applied unchecked. Then what the system needs of the whole: a Deployment per
// service on the one image with probes, requests and limits, a metrics port; a PDB for
// each; the gateway's HPA; KEDA on exactly the work queues the code declares; only the
// gateway open to other namespaces; secrets only by reference.
//
// KUBECTL=<path> picks the kubectl binary (default: kubectl on the PATH).
// Prints one JSON line per directory ({dir, objects, kinds, problems}); exit 1 if any problem.
import { spawnSync } from "node:child_process";
import { existsSync, readdirSync } from "node:fs";
import { createRequire } from "node:module";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseAllDocuments } from "yaml";

const root = join(fileURLToPath(new URL(".", import.meta.url)), "..");
const require = createRequire(import.meta.url);

export const KUBECTL_MISSING =
  "kubectl not found: the manifests are rendered with `kubectl kustomize`. Install it (Debian/Ubuntu): sudo apt-get update && sudo apt-get install -y kubectl";

const SERVICES = ["pragma-gateway", "pragma-registry", "pragma-resource-store", "pragma-provider-worker"];
/** Secret names the Deployments may reference: the two operators' and the two you create (infra/README.md). */
const KNOWN_SECRETS = new Set(["pragma-db-app", "pragma-rabbitmq-default-user", "pragma-gateway", "pragma-registry"]);
const SECRET_ENV = /KEY|SECRET|PASSWORD|TOKEN|DATABASE_URL|AMQP_URL/;

/** The work queues a worker with the defaults declares, from the built code (as export-topology.mjs). */
function workQueuesFromCode() {
  const file = join(root, "services/provider-worker/dist/config.js");
  if (!existsSync(file)) throw new Error("services/provider-worker is not built (run npm run build)");
  const { BUILT_IN_PROVIDERS } = require(file);
  const { QUEUES, PROVIDER_QUEUES } = require(join(root, "packages/contracts/dist/index.js"));
  // Workers serve pushed providers by default (PUSHED_PROVIDERS): their queue scales them too.
  return [...BUILT_IN_PROVIDERS.map((p) => QUEUES.workFor(p)), PROVIDER_QUEUES.pushedWork].sort();
}

async function modelFor(apiVersion, kind) {
  const [group, version] = apiVersion.includes("/") ? apiVersion.split("/") : ["", apiVersion];
  const spec = group === "keda.sh" ? `@kubernetes-models/keda/keda.sh/${version}/${kind}` : `kubernetes-models/${group ? `${group}/` : ""}${version}/${kind}`;
  try {
    const mod = await import(spec);
    return mod[kind] ?? mod.default;
  } catch {
    return undefined;
  }
}

const get = (o, path) => path.split(".").reduce((x, k) => (x == null ? undefined : x[k]), o);

/** Required fields of the two operators' CRDs, from their CRD schemas (no npm schema package exists for either). */
function checkCrd(obj, problems) {
  const where = `${obj.kind}/${obj.metadata?.name}`;
  const need = (path, test, what) => {
    if (!test(get(obj, path))) problems.push(`${where}: ${path} ${what}`);
  };
  const isInt = (v) => Number.isInteger(v);
  if (obj.kind === "RabbitmqCluster") {
    need("metadata.name", (v) => typeof v === "string" && v.length > 0, "is required");
    need("spec", (v) => v && typeof v === "object", "is required");
    need("spec.replicas", (v) => isInt(v) && v >= 1, "must be an integer >= 1");
    need("spec.rabbitmq.additionalPlugins", (v) => v === undefined || (Array.isArray(v) && v.every((p) => typeof p === "string")), "must be a list of plugin names");
    need("spec.rabbitmq.additionalConfig", (v) => v === undefined || typeof v === "string", "must be a string (rabbitmq.conf lines)");
    need("spec.persistence.storage", (v) => v === undefined || typeof v === "string" || isInt(v), "must be a quantity");
    return true;
  }
  if (obj.kind === "Cluster" && obj.apiVersion === "postgresql.cnpg.io/v1") {
    need("metadata.name", (v) => typeof v === "string" && v.length > 0, "is required");
    need("spec.instances", (v) => isInt(v) && v >= 1, "is required: an integer >= 1");
    need("spec.storage", (v) => v && (typeof v.size === "string" || v.pvcTemplate), "needs size (or pvcTemplate)");
    need("spec.bootstrap.initdb.database", (v) => v === undefined || typeof v === "string", "must be a string");
    need("spec.bootstrap.initdb.owner", (v) => v === undefined || typeof v === "string", "must be a string");
    return true;
  }
  return false;
}

/** What the system needs of the rendered whole, beyond each object being valid. */
function checkSystem(objects, problems, workQueues) {
  const byKind = (k) => objects.filter((o) => o.kind === k);
  const deployments = new Map(byKind("Deployment").map((d) => [d.metadata.name, d]));
  const images = new Set();
  for (const name of SERVICES) {
    const d = deployments.get(name);
    if (!d) {
      problems.push(`Deployment ${name} is missing`);
      continue;
    }
    const c = d.spec.template.spec.containers[0];
    images.add(c.image);
    if (!c.readinessProbe || !c.livenessProbe) problems.push(`Deployment ${name}: needs a readiness and a liveness probe`);
    for (const kind of ["requests", "limits"]) for (const r of ["cpu", "memory"]) if (!c.resources?.[kind]?.[r]) problems.push(`Deployment ${name}: resources.${kind}.${r} is missing`);
    const metrics = (c.ports ?? []).find((p) => p.name === "metrics");
    const annotations = d.spec.template.metadata.annotations ?? {};
    if (!metrics) problems.push(`Deployment ${name}: no container port named metrics`);
    else if (annotations["prometheus.io/scrape"] !== "true" || annotations["prometheus.io/port"] !== String(metrics.containerPort)) {
      problems.push(`Deployment ${name}: prometheus.io annotations must scrape the metrics port ${metrics.containerPort}`);
    }
    const metricsEnv = (c.env ?? []).find((e) => e.name === "METRICS_PORT");
    if (metrics && metricsEnv?.value !== String(metrics.containerPort)) problems.push(`Deployment ${name}: METRICS_PORT must equal the metrics containerPort`);
    const labels = d.spec.selector.matchLabels;
    const pdb = byKind("PodDisruptionBudget").find((p) => Object.entries(p.spec.selector?.matchLabels ?? {}).every(([k, v]) => labels[k] === v));
    if (!pdb) problems.push(`Deployment ${name}: no PodDisruptionBudget selects it`);
  }
  if (images.size > 1) problems.push(`the services must run the one image, found ${[...images].join(", ")}`);

  const hpa = byKind("HorizontalPodAutoscaler").find((h) => h.spec.scaleTargetRef.name === "pragma-gateway");
  if (!hpa) problems.push("no HorizontalPodAutoscaler for the gateway");

  const so = byKind("ScaledObject").find((s) => s.spec.scaleTargetRef.name === "pragma-provider-worker");
  if (!so) problems.push("no KEDA ScaledObject for the provider workers");
  else {
    const queues = so.spec.triggers.filter((t) => t.type === "rabbitmq").map((t) => t.metadata.queueName).sort();
    if (JSON.stringify(queues) !== JSON.stringify(workQueues)) {
      problems.push(`ScaledObject triggers on ${JSON.stringify(queues)}, but the code's work queues are ${JSON.stringify(workQueues)}`);
    }
  }

  if (byKind("Secret").length > 0) problems.push(`Secrets must not be in the manifests (reference them): ${byKind("Secret").map((s) => s.metadata.name).join(", ")}`);
  for (const d of deployments.values()) {
    for (const c of d.spec.template.spec.containers) {
      for (const e of c.env ?? []) {
        const ref = e.valueFrom?.secretKeyRef;
        if (ref && !KNOWN_SECRETS.has(ref.name)) problems.push(`Deployment ${d.metadata.name}: ${e.name} references unknown Secret ${ref.name}`);
        // AMQP_URL is composed from secret references ($(RABBITMQ_PASSWORD)): no literal password.
        if (SECRET_ENV.test(e.name) && e.value !== undefined && !/^[a-z]+:\/\/\$\(\w+\):\$\(\w+\)@/.test(e.value)) {
          problems.push(`Deployment ${d.metadata.name}: ${e.name} has a literal value; take it from a Secret (secretKeyRef)`);
        }
      }
    }
  }

  const policies = byKind("NetworkPolicy");
  const denyAll = policies.find((p) => Object.keys(p.spec.podSelector ?? {}).length === 0 && p.spec.policyTypes?.includes("Ingress") && !p.spec.ingress?.length);
  if (!denyAll) problems.push("no default-deny ingress NetworkPolicy");
  for (const p of policies) {
    for (const rule of p.spec.ingress ?? []) {
      if (!rule.from?.length && p.spec.podSelector?.matchLabels?.["app.kubernetes.io/name"] !== "pragma-gateway") {
        problems.push(`NetworkPolicy ${p.metadata.name} opens its pods to every source; only the gateway may be`);
      }
    }
  }
  for (const s of byKind("Service")) {
    if (s.spec.type && s.spec.type !== "ClusterIP" && s.metadata.name !== "pragma-gateway") problems.push(`Service ${s.metadata.name} is exposed (${s.spec.type}); only the gateway may be`);
  }
  for (const i of byKind("Ingress")) {
    for (const rule of i.spec.rules ?? []) {
      for (const path of rule.http?.paths ?? []) {
        if (path.backend.service?.name !== "pragma-gateway") problems.push(`Ingress ${i.metadata.name} routes to ${path.backend.service?.name}; only the gateway may be public`);
      }
    }
  }
  if (!byKind("RabbitmqCluster").length) problems.push("no RabbitmqCluster");
  if (!objects.some((o) => o.kind === "Cluster" && o.apiVersion === "postgresql.cnpg.io/v1")) problems.push("no CloudNativePG Cluster");
}

export async function validate(dir) {
  const r = spawnSync(process.env.KUBECTL || "kubectl", ["kustomize", dir], { encoding: "utf8", maxBuffer: 64 * 1024 * 1024 });
  if (r.error && r.error.code === "ENOENT") throw new Error(KUBECTL_MISSING);
  if (r.status !== 0) return { dir, objects: 0, kinds: {}, problems: [`kubectl kustomize ${dir} failed: ${r.stderr.trim()}`] };
  const problems = [];
  const objects = [];
  for (const doc of parseAllDocuments(r.stdout)) {
    if (doc.errors.length) problems.push(`YAML: ${doc.errors[0].message}`);
    const obj = doc.toJS();
    if (obj) objects.push(obj);
  }
  const kinds = {};
  for (const obj of objects) {
    const where = `${obj.kind}/${obj.metadata?.name}`;
    kinds[obj.kind] = (kinds[obj.kind] ?? 0) + 1;
    if (checkCrd(obj, problems)) continue;
    const Model = await modelFor(obj.apiVersion, obj.kind);
    if (!Model) {
      problems.push(`${where}: no schema for ${obj.apiVersion} ${obj.kind} (add one, or a required-fields check here)`);
      continue;
    }
    try {
      new Model(obj).validate();
    } catch (err) {
      problems.push(`${where}: ${err.message}`);
    }
  }
  checkSystem(objects, problems, workQueuesFromCode());
  return { dir, objects: objects.length, kinds, problems };
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const overlays = join(root, "infra", "k8s", "overlays");
  const dirs = process.argv.length > 2 ? process.argv.slice(2) : readdirSync(overlays).map((d) => join(overlays, d));
  let failed = false;
  try {
    for (const dir of dirs) {
      const result = await validate(dir);
      process.stdout.write(`${JSON.stringify(result)}\n`);
      if (result.problems.length) failed = true;
    }
  } catch (err) {
    process.stderr.write(`validate-k8s: ${err.message}\n`);
    process.exit(2);
  }
  process.exit(failed ? 1 : 0);
}
