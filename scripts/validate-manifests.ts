/**
 * Validates faultline's Kubernetes manifests: renders each kustomization with `kubectl kustomize` and
 * checks every object it emits.
 *
 *   bun scripts/validate-manifests.ts [KUSTOMIZATION_DIR...]   (default: the base and every overlay)
 *
 * - Built-in kinds: against the Kubernetes OpenAPI schemas that the npm package `kubernetes-models` ships
 *   (compiled JSON-schema validators; nothing is downloaded). Types, required fields, enums and formats
 *   are checked; unknown fields are not (Kubernetes' schemas allow them: the API server's strict field
 *   validation rejects them), which is what the faultline checks below are for.
 * - ServiceMonitor (monitoring.coreos.com/v1, a Prometheus Operator CRD that kubernetes-models does not
 *   cover): apiVersion and kind, metadata.name, the CRD's required fields (spec.selector,
 *   spec.endpoints) and their shapes, and that it selects a Service and one of its ports.
 * - Any other kind is an error (no schema to check it with).
 * - faultline's own rules for its Deployment and config (scripts/manifests/faultline-rules.ts): non-root,
 *   read-only root filesystem, no privilege escalation, probes on /livez and /readyz, resources, the
 *   config listening where the probes look, a grace period above shutdown_timeout_seconds; on SQLite
 *   1 replica, Recreate and state_dir on the PersistentVolumeClaim; with `store.postgres` (the ha
 *   overlay) 2 replicas or more, state_dir on an emptyDir and no PVC, the database URL only from a
 *   Secret, a PodDisruptionBudget selecting the pods and anti-affinity across nodes
 *   (scripts/manifests/replica-rules.ts).
 *
 * Prints one line per problem, naming the object and the field; exits 0 when there are none, 1 when
 * there are, 2 when kubectl is missing or a kustomization does not render.
 */

import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative, resolve } from "node:path";
import { parseAllDocuments } from "yaml";
import { errorMessage } from "../src/log.ts";
import { checkFaultline } from "./manifests/faultline-rules.ts";
import {
  describe,
  get,
  isRecord,
  isStringRecord,
  type ManifestObject,
  type ManifestProblem,
  problem,
  records,
} from "./manifests/objects.ts";

/** The kustomizations CI renders and validates, relative to the repository root. */
export const KUSTOMIZATIONS = [
  "deploy/kubernetes/base",
  "deploy/kubernetes/overlays/example",
  "deploy/kubernetes/overlays/example-prometheus",
  "deploy/kubernetes/overlays/ha",
] as const;

/** An object of a render, and one problem with it (defined in ./manifests/objects.ts). */
export type { ManifestObject, ManifestProblem } from "./manifests/objects.ts";
/** How problems name an object: `Deployment faultline/faultline`. */
export { describe };

/** The path of `kubectl` on PATH, or null. */
export function findKubectl(): string | null {
  return Bun.which("kubectl");
}

/** Runs `kubectl kustomize DIR` and returns the objects it renders; throws with kubectl's stderr. */
export function renderKustomization(dir: string, kubectl = findKubectl() ?? "kubectl"): ManifestObject[] {
  const result = spawnSync(kubectl, ["kustomize", dir], { encoding: "utf8", maxBuffer: 64 * 1024 * 1024 });
  if (result.error) throw new Error(`kubectl kustomize ${dir}: ${result.error.message}`);
  if (result.status !== 0) throw new Error(`kubectl kustomize ${dir} failed:\n${result.stderr.trim()}`);
  return parseManifests(result.stdout);
}

/**
 * Renders DIR with extra objects added on top (each written as YAML into a temporary kustomization that
 * lists DIR as a resource), for checking what a broken object does to the validation.
 */
export function renderWithExtra(dir: string, extra: ManifestObject[], kubectl?: string): ManifestObject[] {
  const temp = mkdtempSync(join(tmpdir(), "faultline-kustomize-"));
  try {
    const files = extra.map((object, index) => {
      const file = `extra-${index}.json`;
      writeFileSync(join(temp, file), JSON.stringify(object));
      return file;
    });
    const kustomization = {
      apiVersion: "kustomize.config.k8s.io/v1beta1",
      kind: "Kustomization",
      resources: [relative(temp, resolve(dir)), ...files],
    };
    writeFileSync(join(temp, "kustomization.yaml"), JSON.stringify(kustomization));
    return renderKustomization(temp, kubectl);
  } finally {
    rmSync(temp, { recursive: true, force: true });
  }
}

/** Parses a multi-document YAML stream into its non-empty documents; throws on a YAML error. */
export function parseManifests(text: string): ManifestObject[] {
  const objects: ManifestObject[] = [];
  for (const doc of parseAllDocuments(text)) {
    if (doc.errors.length > 0) throw new Error(`YAML: ${doc.errors[0]?.message}`);
    const value: unknown = doc.toJS();
    if (value === null || value === undefined) continue;
    if (!isRecord(value)) throw new Error("YAML: a document is not a mapping");
    objects.push(value);
  }
  return objects;
}

/** Validates every object, then faultline's rules across them. */
export async function validateManifests(objects: ManifestObject[]): Promise<ManifestProblem[]> {
  const problems: ManifestProblem[] = [];
  for (const object of objects) problems.push(...(await validateObject(object)));
  problems.push(...checkFaultline(objects), ...checkServiceMonitorTargets(objects));
  return problems;
}

/** Validates one object by its apiVersion and kind (see the file's comment for what is checked). */
export async function validateObject(object: ManifestObject): Promise<ManifestProblem[]> {
  const name = describe(object);
  const { apiVersion, kind } = object;
  if (typeof apiVersion !== "string" || apiVersion === "") return [problem(name, "apiVersion", "required")];
  if (typeof kind !== "string" || kind === "") return [problem(name, "kind", "required")];
  if (apiVersion === "monitoring.coreos.com/v1" && kind === "ServiceMonitor")
    return checkServiceMonitor(object);
  const model = await loadModel(apiVersion, kind);
  if (!model) {
    return [
      problem(
        name,
        "kind",
        `no schema for ${apiVersion} ${kind} (not in kubernetes-models, not a known CRD)`,
      ),
    ];
  }
  try {
    new model(withoutBase64Newlines(object)).validate();
    return [];
  } catch (error) {
    const errors = isRecord(error) && Array.isArray(error.errors) ? (error.errors as SchemaError[]) : null;
    if (!errors) return [problem(name, "", String(error))];
    return errors.map((e) =>
      problem(name, schemaErrorField(e), e.keyword === "required" ? "required" : (e.message ?? e.keyword)),
    );
  }
}

/**
 * A Secret's `data` with the line breaks taken out of each base64 value: kustomize wraps them at 70
 * characters, and the API server's base64 decoder skips line breaks, but the schema's "byte" format
 * does not.
 */
function withoutBase64Newlines(object: ManifestObject): ManifestObject {
  if (object.apiVersion !== "v1" || object.kind !== "Secret" || !isRecord(object.data)) return object;
  const data = Object.fromEntries(
    Object.entries(object.data).map(([k, v]) => [k, typeof v === "string" ? v.replace(/[\r\n]/g, "") : v]),
  );
  return { ...object, data };
}

/** One problem as a line: `Deployment faultline/faultline: spec.replicas: must be integer`. */
export function formatProblem(p: ManifestProblem): string {
  return p.field ? `${p.object}: ${p.field}: ${p.message}` : `${p.object}: ${p.message}`;
}

/** An ajv error as kubernetes-models reports it. */
interface SchemaError {
  instancePath: string;
  keyword: string;
  message?: string;
  params: Record<string, unknown>;
}

type ModelClass = new (data: ManifestObject) => { validate(): void };

/** `kubernetes-models/<apiVersion>/<Kind>` (`apps/v1/Deployment`, `v1/Service`), or null if absent. */
async function loadModel(apiVersion: string, kind: string): Promise<ModelClass | null> {
  if (!/^[A-Za-z0-9.-]+(\/[A-Za-z0-9]+)?$/.test(apiVersion) || !/^[A-Za-z0-9]+$/.test(kind)) return null;
  try {
    const module: Record<string, unknown> = await import(`kubernetes-models/${apiVersion}/${kind}`);
    const model = module[kind];
    return typeof model === "function" ? (model as ModelClass) : null;
  } catch {
    return null;
  }
}

/** `/spec/template/spec/containers/0/image` → `spec.template.spec.containers[0].image`, plus a missing key. */
function schemaErrorField(error: SchemaError): string {
  const parts = error.instancePath.split("/").slice(1);
  const missing = error.params.missingProperty ?? error.params.additionalProperty;
  if (typeof missing === "string") parts.push(missing);
  return fieldPath(parts.map((p) => p.replaceAll("~1", "/").replaceAll("~0", "~")));
}

function fieldPath(parts: string[]): string {
  let path = "";
  for (const part of parts) path += /^\d+$/.test(part) ? `[${part}]` : path === "" ? part : `.${part}`;
  return path;
}

/** ServiceMonitor (monitoring.coreos.com/v1): the CRD's required fields and the shapes faultline uses. */
function checkServiceMonitor(object: ManifestObject): ManifestProblem[] {
  const name = describe(object);
  const problems: ManifestProblem[] = [];
  const meta = object.metadata;
  if (!isRecord(meta) || typeof meta.name !== "string" || meta.name === "") {
    problems.push(problem(name, "metadata.name", "required"));
  }
  const spec = object.spec;
  if (!isRecord(spec)) return [...problems, problem(name, "spec", "required")];
  if (!isRecord(spec.selector)) problems.push(problem(name, "spec.selector", "required, an object"));
  else {
    const { matchLabels, matchExpressions } = spec.selector;
    if (matchLabels !== undefined && !isStringRecord(matchLabels)) {
      problems.push(problem(name, "spec.selector.matchLabels", "must map strings to strings"));
    }
    if (matchExpressions !== undefined && !Array.isArray(matchExpressions)) {
      problems.push(problem(name, "spec.selector.matchExpressions", "must be an array"));
    }
  }
  if (!Array.isArray(spec.endpoints)) problems.push(problem(name, "spec.endpoints", "required, an array"));
  else {
    spec.endpoints.forEach((endpoint: unknown, i) => {
      const at = `spec.endpoints[${i}]`;
      if (!isRecord(endpoint)) {
        problems.push(problem(name, at, "must be an object"));
        return;
      }
      if (endpoint.port !== undefined && typeof endpoint.port !== "string") {
        problems.push(problem(name, `${at}.port`, "must be a string (a Service port's name)"));
      }
      if (endpoint.port === undefined && endpoint.targetPort === undefined) {
        problems.push(problem(name, `${at}.port`, "required (or targetPort)"));
      }
      if (
        endpoint.path !== undefined &&
        (typeof endpoint.path !== "string" || !endpoint.path.startsWith("/"))
      ) {
        problems.push(problem(name, `${at}.path`, "must be a string starting with /"));
      }
      for (const key of ["interval", "scrapeTimeout"]) {
        const value = endpoint[key];
        if (value !== undefined && (typeof value !== "string" || !/^(\d+(ms|s|m|h))+$/.test(value))) {
          problems.push(problem(name, `${at}.${key}`, "must be a duration such as 30s"));
        }
      }
    });
  }
  return problems;
}

/** Each ServiceMonitor selects a Service in the render and names one of its ports. */
function checkServiceMonitorTargets(objects: ManifestObject[]): ManifestProblem[] {
  const problems: ManifestProblem[] = [];
  const services = objects.filter((o) => o.apiVersion === "v1" && o.kind === "Service");
  for (const monitor of objects.filter((o) => o.kind === "ServiceMonitor")) {
    const spec = isRecord(monitor.spec) ? monitor.spec : {};
    const selector =
      isRecord(spec.selector) && isStringRecord(spec.selector.matchLabels) ? spec.selector.matchLabels : {};
    const selected = services.filter((service) => {
      const labels = isRecord(service.metadata) ? service.metadata.labels : undefined;
      return isStringRecord(labels) && Object.entries(selector).every(([k, v]) => labels[k] === v);
    });
    if (selected.length === 0) {
      problems.push(problem(describe(monitor), "spec.selector.matchLabels", "selects no Service"));
      continue;
    }
    const portNames = new Set(selected.flatMap((s) => records(get(s, "spec", "ports")).map((p) => p.name)));
    records(spec.endpoints).forEach((endpoint, i) => {
      if (typeof endpoint.port === "string" && !portNames.has(endpoint.port)) {
        problems.push(
          problem(describe(monitor), `spec.endpoints[${i}].port`, `no Service port "${endpoint.port}"`),
        );
      }
    });
  }
  return problems;
}

if (import.meta.main) {
  const kubectl = findKubectl();
  if (!kubectl) {
    console.error("validate-manifests: kubectl not found on PATH (Debian: apt-get install -y kubectl)");
    process.exit(2);
  }
  const dirs = process.argv.length > 2 ? process.argv.slice(2) : [...KUSTOMIZATIONS];
  let failed = false;
  for (const dir of dirs) {
    let objects: ManifestObject[];
    try {
      objects = renderKustomization(dir, kubectl);
    } catch (error) {
      console.error(errorMessage(error));
      process.exit(2);
    }
    const problems = await validateManifests(objects);
    for (const p of problems) console.error(`${dir}: ${formatProblem(p)}`);
    console.log(
      `${dir}: ${objects.length} objects, ${problems.length === 0 ? "valid" : `${problems.length} problem(s)`}`,
    );
    failed ||= problems.length > 0;
  }
  process.exit(failed ? 1 : 0);
}
