/**
 * A render's faultline.yaml and kubeconfigs written out as the pod mounts them
 * (/etc/faultline/config/faultline.yaml, /etc/faultline/kubeconfigs/<key>, under a folder of the test's),
 * then `faultline check` on that config: what the pod would start with.
 */
import { chmodSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { ManifestObject } from "../../scripts/validate-manifests.ts";
import { type FinishedProcess, runToEnd, SOURCE_CLI } from "../helpers/process.ts";

/** The `data` of the render's first object of `kind` whose name starts with `prefix`. */
function dataOf(objects: ManifestObject[], kind: string, prefix: string): Record<string, string> {
  const object = objects.find(
    (o) => o.kind === kind && String((o.metadata as { name?: unknown }).name).startsWith(prefix),
  );
  if (!object) throw new Error(`no ${kind} ${prefix}* in the render`);
  return object.data as Record<string, string>;
}

/**
 * Writes the config and kubeconfigs of `objects` under `root` (which must not hold them yet), puts a
 * stand-in `claude` agent on PATH (whoever deploys adds the real one to the image) and runs
 * `faultline check` with `env` added to this process's environment (the pod's variables).
 *
 * @example
 * ```ts
 * const { stdout, code } = await checkMountedConfig(renderKustomization(dir), tmp, { POD_NAME: "p-0" });
 * ```
 */
export async function checkMountedConfig(
  objects: ManifestObject[],
  root: string,
  env: Record<string, string> = {},
): Promise<FinishedProcess> {
  for (const sub of ["config", "kubeconfigs", "bin"]) mkdirSync(join(root, sub), { recursive: true });
  const config = join(root, "config", "faultline.yaml");
  writeFileSync(config, String(dataOf(objects, "ConfigMap", "faultline-config")["faultline.yaml"]));
  for (const [key, value] of Object.entries(dataOf(objects, "Secret", "faultline-kubeconfigs"))) {
    writeFileSync(join(root, "kubeconfigs", key), Buffer.from(value.replace(/\s/g, ""), "base64"));
  }
  const agent = join(root, "bin", "claude");
  writeFileSync(agent, "#!/bin/sh\nexit 0\n");
  chmodSync(agent, 0o755);
  return runToEnd([...SOURCE_CLI, "check", "--config", config], root, {
    ...process.env,
    ...env,
    PATH: `${join(root, "bin")}:${process.env.PATH}`,
  });
}
