// biome-ignore-all lint/suspicious/noTemplateCurlyInString: config-file variable references (${VARIABLE}) are what these rules check
/**
 * faultline's rules for a Deployment whose config has `store.postgres` (replicas sharing one PostgreSQL
 * database, deploy/kubernetes/overlays/ha):
 * - at least 2 replicas, and no PersistentVolumeClaim in the render (state_dir is per replica);
 * - `store.postgres.url` is `${VARIABLE}` and the container sets that variable from a Secret
 *   (`valueFrom.secretKeyRef`), never a literal, and agents do not inherit it;
 * - `ha.replica`, when set, is `${VARIABLE}` from the pod's name (`fieldRef: metadata.name`), so that
 *   every replica has its own;
 * - a PodDisruptionBudget selects the pods and allows one voluntary disruption, and every
 *   PodDisruptionBudget in the render selects them;
 * - pod anti-affinity on `kubernetes.io/hostname` selecting the pods (replicas on different nodes).
 */
import { isPassedThrough } from "../../src/agent/env.ts";
import { DEFAULT_ENV_PASSTHROUGH } from "../../src/config/schema.ts";
import {
  describe,
  get,
  type ManifestObject,
  type ManifestProblem,
  problem,
  records,
  selects,
} from "./objects.ts";

/** What the replica rules look at: the Deployment, its faultline container and the parsed config. */
export interface ReplicaRulesInput {
  objects: ManifestObject[];
  deployment: ManifestObject;
  container: Record<string, unknown>;
  /** The container's field path (`spec.template.spec.containers[0]`). */
  containerAt: string;
  /** faultline.yaml from the ConfigMap, parsed (its `${VARIABLE}`s not expanded). */
  config: unknown;
  /** The ConfigMap, as {@link describe} names it. */
  configMapName: string;
}

/** The node label the replicas are spread across. */
const HOSTNAME_KEY = "kubernetes.io/hostname";

/** `${NAME}`, the whole value: the variable's name. */
const WHOLE_VARIABLE = /^\$\{([A-Za-z_][A-Za-z0-9_]*)\}$/;

/** Checks the rules above; every problem names its object and field. */
export function checkReplicaRules(input: ReplicaRulesInput): ManifestProblem[] {
  const { objects, deployment } = input;
  const name = describe(deployment);
  const problems: ManifestProblem[] = [];
  const replicas = get(deployment, "spec", "replicas");
  if (typeof replicas !== "number" || replicas < 2) {
    problems.push(
      problem(name, "spec.replicas", "must be at least 2 (store.postgres: replicas share the fleet)"),
    );
  }
  for (const claim of objects.filter((o) => o.kind === "PersistentVolumeClaim")) {
    problems.push(
      problem(
        describe(claim),
        "",
        "not needed with store.postgres (state_dir is per replica, an emptyDir; one ReadWriteOnce claim cannot serve the replicas)",
      ),
    );
  }
  problems.push(...checkDatabaseUrl(input), ...checkReplicaName(input));
  problems.push(...checkDisruptionBudgets(objects, deployment), ...checkAntiAffinity(deployment));
  return problems;
}

/** The container's `env` entry named `variable`, with its index, or null. */
function envEntry(
  container: Record<string, unknown>,
  variable: string,
): { entry: Record<string, unknown>; index: number } | null {
  const env = records(get(container, "env"));
  const index = env.findIndex((e) => e.name === variable);
  const entry = env[index];
  return entry ? { entry, index } : null;
}

/** store.postgres.url: `${VARIABLE}`, set from a Secret, withheld from agents. */
function checkDatabaseUrl(input: ReplicaRulesInput): ManifestProblem[] {
  const { config, container, containerAt } = input;
  const field = "data.faultline.yaml: store.postgres.url";
  const url = get(config, "store", "postgres", "url");
  const variable = typeof url === "string" ? WHOLE_VARIABLE.exec(url)?.[1] : undefined;
  if (!variable) {
    return [
      problem(
        input.configMapName,
        field,
        'must be "${VARIABLE}", set from a Secret (the URL holds a password: never in the ConfigMap)',
      ),
    ];
  }
  const problems: ManifestProblem[] = [];
  const found = envEntry(container, variable);
  if (!found || typeof get(found.entry, "valueFrom", "secretKeyRef", "name") !== "string") {
    const at = found ? `${containerAt}.env[${found.index}]` : `${containerAt}.env`;
    problems.push(
      problem(
        describe(input.deployment),
        at,
        `${variable} must come from a Secret (valueFrom.secretKeyRef): store.postgres.url reads it`,
      ),
    );
  }
  const configured = get(config, "agent", "env_passthrough");
  const passthrough = Array.isArray(configured)
    ? configured.filter((p): p is string => typeof p === "string")
    : DEFAULT_ENV_PASSTHROUGH;
  if (isPassedThrough(variable, passthrough)) {
    problems.push(
      problem(
        input.configMapName,
        field,
        `agents would inherit ${variable} (agent.env_passthrough or the FAULTLINE_* rule): use FAULTLINE_DATABASE_URL or a variable they do not get`,
      ),
    );
  }
  return problems;
}

/** ha.replica: absent ($HOSTNAME, the pod's name) or `${VARIABLE}` from the pod's name. */
function checkReplicaName(input: ReplicaRulesInput): ManifestProblem[] {
  const replica = get(input.config, "ha", "replica");
  if (replica === undefined) return [];
  const variable = typeof replica === "string" ? WHOLE_VARIABLE.exec(replica)?.[1] : undefined;
  const found = variable ? envEntry(input.container, variable) : null;
  if (found && get(found.entry, "valueFrom", "fieldRef", "fieldPath") === "metadata.name") return [];
  return [
    problem(
      input.configMapName,
      "data.faultline.yaml: ha.replica",
      "must differ per replica: leave it out ($HOSTNAME, the pod's name) or use a variable set from valueFrom.fieldRef metadata.name",
    ),
  ];
}

/** One PodDisruptionBudget at least selects the pods; each allows a disruption; none selects nothing. */
function checkDisruptionBudgets(objects: ManifestObject[], deployment: ManifestObject): ManifestProblem[] {
  const labels = get(deployment, "spec", "template", "metadata", "labels");
  const replicas = get(deployment, "spec", "replicas");
  const problems: ManifestProblem[] = [];
  const budgets = objects.filter((o) => o.kind === "PodDisruptionBudget");
  const selecting = budgets.filter((budget) => selects(get(budget, "spec", "selector"), labels));
  if (selecting.length === 0) {
    problems.push(
      problem(
        describe(deployment),
        "spec.template.metadata.labels",
        "no PodDisruptionBudget selects these pods (a node drain could evict every replica at once)",
      ),
    );
  }
  for (const budget of budgets) {
    const at = describe(budget);
    if (!selecting.includes(budget)) {
      problems.push(problem(at, "spec.selector.matchLabels", "selects none of faultline's pods"));
      continue;
    }
    const maxUnavailable = get(budget, "spec", "maxUnavailable");
    const minAvailable = get(budget, "spec", "minAvailable");
    if (maxUnavailable === 0) {
      problems.push(problem(at, "spec.maxUnavailable", "must be at least 1 (0 blocks every node drain)"));
    }
    if (typeof minAvailable === "number" && typeof replicas === "number" && minAvailable >= replicas) {
      problems.push(
        problem(
          at,
          "spec.minAvailable",
          `must be below spec.replicas (${replicas}) of the Deployment (else it blocks every node drain)`,
        ),
      );
    }
  }
  return problems;
}

/** A pod anti-affinity term on kubernetes.io/hostname that selects the Deployment's own pods. */
function checkAntiAffinity(deployment: ManifestObject): ManifestProblem[] {
  const labels = get(deployment, "spec", "template", "metadata", "labels");
  const anti = get(deployment, "spec", "template", "spec", "affinity", "podAntiAffinity");
  const terms = [
    ...records(get(anti, "preferredDuringSchedulingIgnoredDuringExecution")).map((p) =>
      get(p, "podAffinityTerm"),
    ),
    ...records(get(anti, "requiredDuringSchedulingIgnoredDuringExecution")),
  ];
  const spread = terms.some(
    (term) => get(term, "topologyKey") === HOSTNAME_KEY && selects(get(term, "labelSelector"), labels),
  );
  if (spread) return [];
  return [
    problem(
      describe(deployment),
      "spec.template.spec.affinity.podAntiAffinity",
      `needs a term on topologyKey ${HOSTNAME_KEY} selecting faultline's pods (replicas on different nodes)`,
    ),
  ];
}
