/**
 * deploy/kubernetes: every kustomization renders with `kubectl kustomize` and every object it emits is
 * valid (scripts/validate-manifests.ts); broken objects are rejected naming the object and the field;
 * the example overlay's config passes faultline's own check with the files the pod mounts.
 * Without kubectl these tests are skipped (CI installs it, so CI never skips them).
 */
import { afterAll, describe, expect, test } from "bun:test";
import { join } from "node:path";
import {
  findKubectl,
  formatProblem,
  KUSTOMIZATIONS,
  type ManifestObject,
  renderKustomization,
  renderWithExtra,
  validateManifests,
} from "../../scripts/validate-manifests.ts";
import { tempDir } from "../helpers/tmp.ts";
import { checkMountedConfig } from "./mounted-config.ts";

const ROOT = join(import.meta.dir, "..", "..");
const kubectl = findKubectl();
if (!kubectl) {
  console.warn(
    "tests/deploy: kubectl not found on PATH, manifest tests SKIPPED (apt-get install -y kubectl)",
  );
}
const withKubectl = describe.skipIf(!kubectl);
const BASE = join(ROOT, "deploy/kubernetes/base");
const OVERLAY = join(ROOT, "deploy/kubernetes/overlays/example");

/** The problems as lines, for readable failures. */
async function problemLines(objects: ManifestObject[]): Promise<string[]> {
  return (await validateManifests(objects)).map(formatProblem);
}

function find(objects: ManifestObject[], kind: string): ManifestObject {
  const object = objects.find((o) => o.kind === kind);
  if (!object) throw new Error(`no ${kind} in the render`);
  return object;
}

withKubectl("kubernetes manifests", () => {
  for (const dir of KUSTOMIZATIONS) {
    // The ha overlay (replicas on PostgreSQL) has a PodDisruptionBudget instead of the PVC.
    const replicated = dir.endsWith("/ha");
    test(`${dir} renders and every object is valid`, async () => {
      const objects = renderKustomization(join(ROOT, dir));
      const kinds = objects.map((o) => o.kind);
      const perReplica = replicated ? "PodDisruptionBudget" : "PersistentVolumeClaim";
      for (const kind of ["Deployment", "ConfigMap", "Secret", perReplica, "Service"]) {
        expect(kinds).toContain(kind);
      }
      if (replicated) expect(kinds).not.toContain("PersistentVolumeClaim");
      expect(kinds.filter((k) => k === "Secret")).toHaveLength(2);
      expect(await problemLines(objects)).toEqual([]);
    });
  }

  test("the ServiceMonitor is only in the Prometheus overlay, in faultline's namespace", () => {
    expect(renderKustomization(OVERLAY).map((o) => o.kind)).not.toContain("ServiceMonitor");
    const objects = renderKustomization(join(ROOT, "deploy/kubernetes/overlays/example-prometheus"));
    expect(find(objects, "ServiceMonitor").metadata).toMatchObject({
      name: "faultline",
      namespace: "faultline",
    });
  });

  test("a Deployment with a wrong type is rejected naming the object and the field", async () => {
    const broken = {
      apiVersion: "apps/v1",
      kind: "Deployment",
      metadata: { name: "broken" },
      spec: {
        replicas: "one",
        selector: { matchLabels: { app: "broken" } },
        template: {
          metadata: { labels: { app: "broken" } },
          spec: { containers: [{ name: "broken", image: "x", ports: [{ containerPort: "http" }] }] },
        },
      },
    };
    const lines = await problemLines(renderWithExtra(BASE, [broken]));
    expect(lines).toContain("Deployment broken: spec.replicas: must be integer");
    expect(lines).toContain(
      "Deployment broken: spec.template.spec.containers[0].ports[0].containerPort: must be integer",
    );
  });

  test("a missing required field, a CRD missing its required fields and an unknown kind are rejected", async () => {
    const service = {
      apiVersion: "v1",
      kind: "Service",
      metadata: { name: "noports" },
      spec: { ports: [{}] },
    };
    const monitor = {
      apiVersion: "monitoring.coreos.com/v1",
      kind: "ServiceMonitor",
      metadata: { name: "nomonitor" },
      spec: { endpoints: [{ port: 8080, interval: "soon" }] },
    };
    const unknown = { apiVersion: "example.com/v1", kind: "Widget", metadata: { name: "w" } };
    const lines = await problemLines(renderWithExtra(BASE, [service, monitor, unknown]));
    expect(lines).toContain("Service noports: spec.ports[0].port: required");
    expect(lines).toContain("ServiceMonitor nomonitor: spec.selector: required, an object");
    expect(lines).toContain(
      "ServiceMonitor nomonitor: spec.endpoints[0].port: must be a string (a Service port's name)",
    );
    expect(lines).toContain(
      "ServiceMonitor nomonitor: spec.endpoints[0].interval: must be a duration such as 30s",
    );
    expect(lines.some((l) => l.startsWith("Widget w: kind: no schema for example.com/v1 Widget"))).toBe(true);
  });

  test("faultline's rules: a second replica, a rolling update, a writable root or a wrong probe are rejected", async () => {
    const objects = renderKustomization(OVERLAY);
    const deployment = find(objects, "Deployment") as {
      spec: {
        replicas: number;
        strategy: { type: string };
        template: { spec: { containers: ManifestObject[] } };
      };
    };
    deployment.spec.replicas = 2;
    deployment.spec.strategy = { type: "RollingUpdate" };
    const container = deployment.spec.template.spec.containers[0] as {
      securityContext: { readOnlyRootFilesystem: boolean };
      readinessProbe: { httpGet: { path: string } };
    };
    container.securityContext.readOnlyRootFilesystem = false;
    container.readinessProbe.httpGet.path = "/health";
    const lines = await problemLines(objects);
    const at = "Deployment faultline/faultline";
    expect(lines).toEqual([
      `${at}: spec.replicas: must be 1 (state_dir is single-writer)`,
      `${at}: spec.strategy.type: must be "Recreate" (state_dir is single-writer)`,
      `${at}: spec.template.spec.containers[0].securityContext.readOnlyRootFilesystem: must be true (read-only root)`,
      `${at}: spec.template.spec.containers[0].readinessProbe.httpGet.path: must be "/readyz" (faultline's probe route)`,
    ]);
  });

  test("a config that listens on loopback is rejected (the probes could not reach it)", async () => {
    const objects = renderKustomization(BASE);
    const configMap = find(objects, "ConfigMap") as { data: Record<string, string> };
    configMap.data["faultline.yaml"] = String(configMap.data["faultline.yaml"]).replace(
      'listen: "0.0.0.0:',
      'listen: "127.0.0.1:',
    );
    const lines = await problemLines(objects);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(
      /^ConfigMap faultline-config-\w+: data\.faultline\.yaml: health\.listen: must be "0\.0\.0\.0:8080"$/,
    );
  });

  describe("the example overlay's config, laid out as the pod mounts it", () => {
    const dir = tempDir("faultline-deploy-");
    afterAll(dir.cleanup);

    test("passes faultline check", async () => {
      const { stdout, stderr, code } = await checkMountedConfig(renderKustomization(OVERLAY), dir.path);
      expect(stderr).toBe("");
      expect(stdout).toContain("valid (3 cluster(s), 3 enabled)");
      expect(code).toBe(0);
    });
  });
});
