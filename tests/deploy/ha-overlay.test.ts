// biome-ignore-all lint/suspicious/noTemplateCurlyInString: config-file variable references (${VARIABLE}) are what the overlay uses
/**
 * deploy/kubernetes/overlays/ha: three replicas sharing one PostgreSQL database. The facts of the render
 * (replicas, rollout, the PodDisruptionBudget selecting the pods, anti-affinity, the database URL only
 * from a Secret, no PVC, consistent labels); the replica rules of scripts/validate-manifests.ts rejecting
 * each of them broken; and the config passing `faultline check` with the variables the pod sets.
 * Without kubectl these tests are skipped (CI installs it, so CI never skips them).
 */
import { afterAll, describe, expect, test } from "bun:test";
import { join } from "node:path";
import { parse as parseYaml } from "yaml";
import { get } from "../../scripts/manifests/objects.ts";
import {
  findKubectl,
  formatProblem,
  type ManifestObject,
  renderKustomization,
  validateManifests,
} from "../../scripts/validate-manifests.ts";
import { tempDir } from "../helpers/tmp.ts";
import { checkMountedConfig } from "./mounted-config.ts";

const HA = join(import.meta.dir, "..", "..", "deploy/kubernetes/overlays/ha");
const withKubectl = describe.skipIf(!findKubectl());
const POD_LABELS = { "app.kubernetes.io/name": "faultline" };

/** The parts of the render the tests read and break (parsed YAML, so loosely typed). */
interface Container {
  name: string;
  env: { name: string; value?: string; valueFrom?: Record<string, Record<string, string>> }[];
  volumeMounts: { name: string; mountPath: string }[];
}
interface Deployment {
  metadata: { labels: Record<string, string>; namespace: string };
  spec: {
    replicas: number;
    selector: { matchLabels: Record<string, string> };
    strategy: { type: string; rollingUpdate?: Record<string, number> };
    template: {
      metadata: { labels: Record<string, string> };
      spec: {
        terminationGracePeriodSeconds: number;
        affinity?: { podAntiAffinity?: Record<string, unknown> };
        topologySpreadConstraints: Record<string, unknown>[];
        containers: Container[];
        volumes: Record<string, unknown>[];
      };
    };
  };
}

/** A fresh render and its parts. */
function render() {
  const objects = renderKustomization(HA);
  const of = (kind: string) => {
    const found = objects.find((o) => o.kind === kind);
    if (!found) throw new Error(`no ${kind} in the render`);
    return found;
  };
  const deployment = of("Deployment") as unknown as Deployment;
  const container = deployment.spec.template.spec.containers.find((c) => c.name === "faultline");
  if (!container) throw new Error("no container faultline");
  const configMap = of("ConfigMap") as { data: Record<string, string> };
  const pdb = of("PodDisruptionBudget") as { spec: Record<string, unknown> };
  return { objects, deployment, container, configMap, pdb };
}

async function problemLines(objects: ManifestObject[]): Promise<string[]> {
  return (await validateManifests(objects)).map(formatProblem);
}

withKubectl("the ha overlay", () => {
  test("renders valid: 3 replicas, one at a time, a PDB and anti-affinity, no PVC", async () => {
    const { objects, deployment, pdb } = render();
    expect(await problemLines(objects)).toEqual([]);
    expect(objects.map((o) => o.kind).sort()).toEqual([
      "ConfigMap",
      "Deployment",
      "Namespace",
      "PodDisruptionBudget",
      "Secret",
      "Secret",
      "Service",
    ]);
    expect(deployment.spec.replicas).toBe(3);
    expect(deployment.spec.strategy).toEqual({
      type: "RollingUpdate",
      rollingUpdate: { maxUnavailable: 1, maxSurge: 0 },
    });
    expect(pdb.spec).toEqual({ maxUnavailable: 1, selector: { matchLabels: POD_LABELS } });
    const pod = deployment.spec.template.spec;
    expect(pod.affinity?.podAntiAffinity).toEqual({
      preferredDuringSchedulingIgnoredDuringExecution: [
        {
          weight: 100,
          podAffinityTerm: {
            topologyKey: "kubernetes.io/hostname",
            labelSelector: { matchLabels: POD_LABELS },
          },
        },
      ],
    });
    expect(pod.topologySpreadConstraints).toEqual([
      {
        maxSkew: 1,
        topologyKey: "topology.kubernetes.io/zone",
        whenUnsatisfiable: "ScheduleAnyway",
        labelSelector: { matchLabels: POD_LABELS },
      },
    ]);
    // The grace period leaves running agents the config's shutdown_timeout_seconds.
    expect(pod.terminationGracePeriodSeconds).toBeGreaterThan(30);
  });

  test("the database URL comes only from the Secret faultline-database; state_dir is an emptyDir", () => {
    const { objects, deployment, container, configMap } = render();
    const config = parseYaml(String(configMap.data["faultline.yaml"]));
    expect(config.store).toEqual({
      postgres: { url: "${FAULTLINE_DATABASE_URL}", max_connections: 10 },
    });
    expect(config.ha).toEqual({ replica: "${POD_NAME}", lease_seconds: 15 });
    expect(container.env.find((e) => e.name === "FAULTLINE_DATABASE_URL")).toEqual({
      name: "FAULTLINE_DATABASE_URL",
      valueFrom: { secretKeyRef: { name: "faultline-database", key: "url" } },
    });
    expect(container.env.find((e) => e.name === "POD_NAME")).toEqual({
      name: "POD_NAME",
      valueFrom: { fieldRef: { fieldPath: "metadata.name" } },
    });
    // No password (nor a placeholder one) anywhere in the render; the Secret is made outside git.
    expect(JSON.stringify(objects)).not.toMatch(/postgres(ql)?:\/\//i);
    expect(objects.some((o) => String(get(o, "metadata", "name")).startsWith("faultline-database"))).toBe(
      false,
    );
    const state = container.volumeMounts.find((m) => m.mountPath === "/var/lib/faultline");
    const volume = deployment.spec.template.spec.volumes.find((v) => v.name === state?.name);
    expect(volume).toEqual({ name: "state", emptyDir: { sizeLimit: "5Gi" } });
  });

  test("labels: every object is faultline's, in its namespace; each selector picks the pods", () => {
    const { objects, deployment } = render();
    const podLabels = deployment.spec.template.metadata.labels;
    for (const object of objects) {
      expect(get(object, "metadata", "labels")).toMatchObject(
        object.kind === "Namespace"
          ? { "pod-security.kubernetes.io/enforce": "restricted" }
          : { ...POD_LABELS, "app.kubernetes.io/part-of": "faultline" },
      );
      if (object.kind !== "Namespace") expect(get(object, "metadata", "namespace")).toBe("faultline");
    }
    const selectors = [
      deployment.spec.selector.matchLabels,
      get(
        objects.find((o) => o.kind === "Service"),
        "spec",
        "selector",
      ),
      get(
        objects.find((o) => o.kind === "PodDisruptionBudget"),
        "spec",
        "selector",
        "matchLabels",
      ),
    ];
    for (const selector of selectors) {
      expect(selector).toEqual(POD_LABELS);
      expect(podLabels).toMatchObject(selector as Record<string, string>);
    }
  });

  test("the replica rules reject a literal URL, a shared replica name, a PVC, one replica and a short grace period", async () => {
    const { objects, deployment, container, configMap } = render();
    const configMapName = String(get(configMap, "metadata", "name"));
    configMap.data["faultline.yaml"] = String(configMap.data["faultline.yaml"])
      .replace('"${FAULTLINE_DATABASE_URL}"', "postgres://faultline:hunter2@db:5432/faultline")
      .replace('"${POD_NAME}"', "faultline");
    deployment.spec.replicas = 1;
    deployment.spec.template.spec.terminationGracePeriodSeconds = 30;
    const state = deployment.spec.template.spec.volumes.find((v) => v.name === "state");
    if (!state) throw new Error("no state volume");
    delete state.emptyDir;
    state.persistentVolumeClaim = { claimName: "faultline-state" };
    objects.push({
      apiVersion: "v1",
      kind: "PersistentVolumeClaim",
      metadata: { name: "faultline-state", namespace: "faultline" },
      spec: { accessModes: ["ReadWriteOnce"], resources: { requests: { storage: "1Gi" } } },
    });
    const at = "Deployment faultline/faultline";
    const cm = `ConfigMap faultline/${configMapName}`;
    const lines = await problemLines(objects);
    expect(lines).toEqual([
      `${at}: spec.template.spec.containers[0].volumeMounts: /var/lib/faultline must be an emptyDir (store.postgres: state_dir holds only this replica's workspaces)`,
      `${at}: spec.template.spec.terminationGracePeriodSeconds: must be more than the config's shutdown_timeout_seconds (30): running agents get that long, then sessions close`,
      `${at}: spec.replicas: must be at least 2 (store.postgres: replicas share the fleet)`,
      "PersistentVolumeClaim faultline/faultline-state: not needed with store.postgres (state_dir is per replica, an emptyDir; one ReadWriteOnce claim cannot serve the replicas)",
      `${cm}: data.faultline.yaml: store.postgres.url: must be "\${VARIABLE}", set from a Secret (the URL holds a password: never in the ConfigMap)`,
      `${cm}: data.faultline.yaml: ha.replica: must differ per replica: leave it out ($HOSTNAME, the pod's name) or use a variable set from valueFrom.fieldRef metadata.name`,
    ]);
    // The Deployment's env is untouched: only the ConfigMap's literal was wrong.
    expect(container.env.some((e) => e.name === "FAULTLINE_DATABASE_URL")).toBe(true);
  });

  test("the replica rules reject a URL variable set literally or passed to agents", async () => {
    const { objects, container, configMap } = render();
    const url = container.env.find((e) => e.name === "FAULTLINE_DATABASE_URL");
    if (!url) throw new Error("no FAULTLINE_DATABASE_URL");
    delete url.valueFrom;
    url.value = "postgres://faultline:hunter2@db:5432/faultline";
    configMap.data["faultline.yaml"] = `${configMap.data["faultline.yaml"]}\n`.replace(
      "agent:\n",
      "agent:\n  env_passthrough: [PATH, FAULTLINE_DATABASE_URL]\n",
    );
    const lines = await problemLines(objects);
    expect(lines).toHaveLength(2);
    expect(lines[0]).toBe(
      "Deployment faultline/faultline: spec.template.spec.containers[0].env[0]: FAULTLINE_DATABASE_URL must come from a Secret (valueFrom.secretKeyRef): store.postgres.url reads it",
    );
    expect(lines[1]).toMatch(
      /^ConfigMap faultline\/faultline-config-\w+: data\.faultline\.yaml: store\.postgres\.url: agents would inherit FAULTLINE_DATABASE_URL/,
    );
  });

  test("the replica rules reject a missing PDB, a PDB selecting nothing or blocking drains, and no anti-affinity", async () => {
    const at = "Deployment faultline/faultline";
    const withoutBudget = render();
    const kept = withoutBudget.objects.filter((o) => o.kind !== "PodDisruptionBudget");
    delete withoutBudget.deployment.spec.template.spec.affinity;
    expect(await problemLines(kept)).toEqual([
      `${at}: spec.template.metadata.labels: no PodDisruptionBudget selects these pods (a node drain could evict every replica at once)`,
      `${at}: spec.template.spec.affinity.podAntiAffinity: needs a term on topologyKey kubernetes.io/hostname selecting faultline's pods (replicas on different nodes)`,
    ]);

    const blocking = render();
    blocking.pdb.spec = { minAvailable: 3, selector: { matchLabels: POD_LABELS } };
    const stray = structuredClone(blocking.pdb) as ManifestObject;
    (stray.metadata as Record<string, unknown>).name = "stray";
    (stray.spec as Record<string, unknown>).selector = { matchLabels: { "app.kubernetes.io/name": "other" } };
    expect(await problemLines([...blocking.objects, stray])).toEqual([
      "PodDisruptionBudget faultline/faultline: spec.minAvailable: must be below spec.replicas (3) of the Deployment (else it blocks every node drain)",
      "PodDisruptionBudget faultline/stray: spec.selector.matchLabels: selects none of faultline's pods",
    ]);
  });

  describe("the config, laid out as the pod mounts it", () => {
    const dir = tempDir("faultline-deploy-ha-");
    afterAll(dir.cleanup);

    test("passes faultline check with the variables the pod sets, and names the URL without them", async () => {
      const { objects } = render();
      const pod = {
        FAULTLINE_DATABASE_URL: "postgres://faultline:s3cret-pw@postgres.faultline.svc:5432/faultline",
        POD_NAME: "faultline-5d8f7c9b6-x2k4q",
      };
      const ok = await checkMountedConfig(objects, join(dir.path, "ok"), pod);
      expect(ok.stderr).toBe("");
      expect(ok.stdout).toContain(
        "valid (3 cluster(s), 3 enabled; store: PostgreSQL at postgres://***:***@postgres.faultline.svc:5432/faultline)",
      );
      expect(ok.stdout).not.toContain("s3cret-pw");
      expect(ok.code).toBe(0);

      const unset = await checkMountedConfig(objects, join(dir.path, "unset"), { POD_NAME: pod.POD_NAME });
      expect(unset.stderr).toContain("store.postgres.url: environment variable FAULTLINE_DATABASE_URL");
      expect(unset.code).not.toBe(0);
    });
  });
});
