/**
 * faultline's own rules for its Deployment and the config in its ConfigMap, on top of the schemas:
 * - always: non-root, read-only root filesystem, no privilege escalation, probes on /livez and /readyz,
 *   resources, a port named http, the config listening where the probes look, state_dir on its volume,
 *   and a terminationGracePeriodSeconds above the config's shutdown_timeout_seconds;
 * - one process on embedded SQLite (no `store.postgres`): 1 replica, Recreate, state_dir on a
 *   PersistentVolumeClaim (state_dir is single-writer);
 * - replicas sharing PostgreSQL (`store.postgres`): state_dir on an emptyDir, and the rules of
 *   ./replica-rules.ts.
 */
import { parse as parseYaml } from "yaml";
import {
  describe,
  get,
  isRecord,
  type ManifestObject,
  type ManifestProblem,
  problem,
  records,
} from "./objects.ts";
import { checkReplicaRules } from "./replica-rules.ts";

/** Where the container mounts its config; the Deployment and the ConfigMap must agree with it. */
export const CONFIG_DIR = "/etc/faultline/config";
/** Where the container mounts state_dir; the config's state_dir must be this. */
export const STATE_DIR = "/var/lib/faultline";

/** faultline's defaults the rules compare against when the manifests leave them out. */
const DEFAULT_SHUTDOWN_TIMEOUT_SECONDS = 30;
const KUBERNETES_DEFAULT_GRACE_SECONDS = 30;

/** Checks the Deployment `faultline` and its config (see the file's comment). */
export function checkFaultline(objects: ManifestObject[]): ManifestProblem[] {
  const deployment = objects.find(
    (o) => o.kind === "Deployment" && get(o, "metadata", "name") === "faultline",
  );
  if (!deployment) return [problem("Deployment faultline", "", "missing from the render")];
  const name = describe(deployment);
  const pod = get(deployment, "spec", "template", "spec");
  const containers = records(get(pod, "containers"));
  const index = containers.findIndex((c) => c.name === "faultline");
  const container = containers[index];
  const mounted = container ? mountedConfig(objects, pod, container) : null;
  const shared = isRecord(get(mounted?.config, "store", "postgres"));

  const problems: ManifestProblem[] = [];
  const expect = (field: string, actual: unknown, wanted: unknown, why: string) => {
    if (actual !== wanted) problems.push(problem(name, field, `must be ${JSON.stringify(wanted)} (${why})`));
  };
  if (!shared) {
    expect("spec.replicas", get(deployment, "spec", "replicas"), 1, "state_dir is single-writer");
    expect(
      "spec.strategy.type",
      get(deployment, "spec", "strategy", "type"),
      "Recreate",
      "state_dir is single-writer",
    );
  }
  expect(
    "spec.template.spec.securityContext.runAsNonRoot",
    get(pod, "securityContext", "runAsNonRoot"),
    true,
    "non-root",
  );
  if (!container)
    return [...problems, problem(name, "spec.template.spec.containers", "no container faultline")];
  const at = `spec.template.spec.containers[${index}]`;
  const security = get(container, "securityContext");
  expect(
    `${at}.securityContext.readOnlyRootFilesystem`,
    get(security, "readOnlyRootFilesystem"),
    true,
    "read-only root",
  );
  expect(
    `${at}.securityContext.allowPrivilegeEscalation`,
    get(security, "allowPrivilegeEscalation"),
    false,
    "non-root",
  );
  for (const [probe, path] of [
    ["livenessProbe", "/livez"],
    ["readinessProbe", "/readyz"],
  ] as const) {
    expect(
      `${at}.${probe}.httpGet.path`,
      get(container, probe, "httpGet", "path"),
      path,
      "faultline's probe route",
    );
  }
  for (const field of ["requests", "limits"]) {
    if (!isRecord(get(container, "resources", field)))
      problems.push(problem(name, `${at}.resources.${field}`, "required"));
  }
  const port = records(get(container, "ports")).find((p) => p.name === "http");
  if (!port)
    problems.push(
      problem(name, `${at}.ports`, 'needs a port named "http" (the probes and the Service use it)'),
    );

  const state = volumeAt(pod, container, STATE_DIR);
  if (!shared && !isRecord(state?.persistentVolumeClaim)) {
    problems.push(problem(name, `${at}.volumeMounts`, `${STATE_DIR} must be a PersistentVolumeClaim`));
  }
  if (shared && !isRecord(state?.emptyDir)) {
    problems.push(
      problem(
        name,
        `${at}.volumeMounts`,
        `${STATE_DIR} must be an emptyDir (store.postgres: state_dir holds only this replica's workspaces)`,
      ),
    );
  }
  if (!mounted) {
    problems.push(
      problem(name, `${at}.volumeMounts`, `${CONFIG_DIR} must be a ConfigMap with faultline.yaml`),
    );
    return problems;
  }
  const { config, configMap } = mounted;
  const where = describe(configMap);
  const listen = get(config, "health", "listen");
  const wanted = `0.0.0.0:${port?.containerPort ?? 8080}`;
  if (listen !== wanted)
    problems.push(problem(where, "data.faultline.yaml: health.listen", `must be "${wanted}"`));
  if (get(config, "state_dir") !== STATE_DIR) {
    problems.push(problem(where, "data.faultline.yaml: state_dir", `must be "${STATE_DIR}" (the volume)`));
  }
  problems.push(...checkGracePeriod(deployment, config));
  if (shared) {
    problems.push(
      ...checkReplicaRules({
        objects,
        deployment,
        container,
        containerAt: at,
        config,
        configMapName: where,
      }),
    );
  }
  return problems;
}

/** The volume the container mounts at `path`, or undefined. */
function volumeAt(
  pod: unknown,
  container: Record<string, unknown>,
  path: string,
): Record<string, unknown> | undefined {
  const mount = records(get(container, "volumeMounts")).find((m) => m.mountPath === path);
  return records(get(pod, "volumes")).find((v) => v.name === mount?.name);
}

/** The ConfigMap mounted at {@link CONFIG_DIR} and its faultline.yaml parsed, or null. */
function mountedConfig(
  objects: ManifestObject[],
  pod: unknown,
  container: Record<string, unknown>,
): { configMap: ManifestObject; config: unknown } | null {
  const configMapName = get(volumeAt(pod, container, CONFIG_DIR), "configMap", "name");
  const configMap = objects.find(
    (o) => o.kind === "ConfigMap" && get(o, "metadata", "name") === configMapName,
  );
  const text = get(configMap, "data", "faultline.yaml");
  if (!configMap || typeof text !== "string") return null;
  return { configMap, config: parseYaml(text) };
}

/** The pod's grace period leaves running agents shutdown_timeout_seconds, then time to close sessions. */
function checkGracePeriod(deployment: ManifestObject, config: unknown): ManifestProblem[] {
  const grace = get(deployment, "spec", "template", "spec", "terminationGracePeriodSeconds");
  const shutdown = get(config, "shutdown_timeout_seconds");
  const timeout = typeof shutdown === "number" ? shutdown : DEFAULT_SHUTDOWN_TIMEOUT_SECONDS;
  const seconds = typeof grace === "number" ? grace : KUBERNETES_DEFAULT_GRACE_SECONDS;
  if (seconds > timeout) return [];
  return [
    problem(
      describe(deployment),
      "spec.template.spec.terminationGracePeriodSeconds",
      `must be more than the config's shutdown_timeout_seconds (${timeout}): running agents get that long, then sessions close`,
    ),
  ];
}
