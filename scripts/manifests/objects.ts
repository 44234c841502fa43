/**
 * Reading rendered Kubernetes objects (parsed YAML, so `unknown` all the way down) and naming what is
 * wrong with them: the helpers scripts/validate-manifests.ts and its faultline rules share.
 */

/** One object of a rendered manifest, as parsed from YAML. */
export type ManifestObject = Record<string, unknown>;

/** One problem: which object (`Deployment faultline/faultline`), which field (`spec.replicas`), what. */
export interface ManifestProblem {
  object: string;
  field: string;
  message: string;
}

/** A problem of `object` (as {@link describe} names it) at `field`. */
export function problem(object: string, field: string, message: string): ManifestProblem {
  return { object, field, message };
}

/** `Deployment faultline/faultline` (kind, then namespace/name, or just the name when cluster-wide). */
export function describe(object: ManifestObject): string {
  const meta = isRecord(object.metadata) ? object.metadata : {};
  const name = typeof meta.name === "string" ? meta.name : "(no name)";
  const kind = typeof object.kind === "string" ? object.kind : "(no kind)";
  return typeof meta.namespace === "string" ? `${kind} ${meta.namespace}/${name}` : `${kind} ${name}`;
}

/** True for a plain object (not null, not an array). */
export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** True for an object whose values are all strings (labels, a selector's matchLabels). */
export function isStringRecord(value: unknown): value is Record<string, string> {
  return isRecord(value) && Object.values(value).every((v) => typeof v === "string");
}

/**
 * The value at a path of object keys, or undefined.
 *
 * @example
 * ```ts
 * get({ spec: { replicas: 3 } }, "spec", "replicas"); // 3
 * get({ spec: null }, "spec", "replicas");            // undefined
 * ```
 */
export function get(value: unknown, ...keys: string[]): unknown {
  let current = value;
  for (const key of keys) current = isRecord(current) ? current[key] : undefined;
  return current;
}

/** The objects of an array (anything else: none). */
export function records(value: unknown): Record<string, unknown>[] {
  return Array.isArray(value) ? value.filter(isRecord) : [];
}

/**
 * Whether a label selector (`{ matchLabels }`, the only form faultline's manifests use) selects an object
 * with `labels`. An empty or missing matchLabels selects nothing here: a selector that matches every pod
 * of the namespace is never what was meant.
 */
export function selects(selector: unknown, labels: unknown): boolean {
  const wanted = get(selector, "matchLabels");
  if (!isStringRecord(wanted) || Object.keys(wanted).length === 0 || !isStringRecord(labels)) return false;
  return Object.entries(wanted).every(([key, value]) => labels[key] === value);
}
