/**
 * Which incidents a sink hears about: its `on` events and its `match` (cluster name globs, a least
 * severity, cluster labels). Every part given must hold; a sink without `match` hears about all.
 */
import type { NotifySinkConfig } from "../config/types.ts";
import { meetsThreshold } from "../events/fault.ts";
import type { Incident } from "../incidents/model.ts";
import type { NotifyTrigger } from "../incidents/outbox.ts";

/**
 * A glob over a whole name as a RegExp: `*` is any run of characters, `?` any one, the rest literal.
 *
 * @example
 * ```ts
 * globToRegExp("prod-*").test("prod-east"); // true
 * globToRegExp("prod-*").test("staging");   // false
 * ```
 */
export function globToRegExp(glob: string): RegExp {
  const body = [...glob]
    .map((ch) => (ch === "*" ? ".*" : ch === "?" ? "." : ch.replace(/[\\^$.|+()[\]{}]/g, "\\$&")))
    .join("");
  return new RegExp(`^${body}$`, "s");
}

/** A sink's rules, compiled once. */
export interface SinkRules {
  on: ReadonlySet<NotifyTrigger>;
  clusters: RegExp[] | null;
  severity: NotifySinkConfig["match"]["severity"];
  labels: Readonly<Record<string, string>>;
}

/** Compiles `sink`'s `on` and `match`. */
export function compileRules(sink: NotifySinkConfig): SinkRules {
  return {
    on: new Set(sink.on),
    clusters: sink.match.clusters ? sink.match.clusters.map(globToRegExp) : null,
    severity: sink.match.severity,
    labels: sink.match.labels ?? {},
  };
}

/** Whether a sink with `rules` hears about `trigger` for `incident`, whose cluster has `labels`. */
export function sinkMatches(
  rules: SinkRules,
  trigger: NotifyTrigger,
  incident: Incident,
  labels: Readonly<Record<string, string>>,
): boolean {
  if (!rules.on.has(trigger)) return false;
  if (rules.clusters && !rules.clusters.some((glob) => glob.test(incident.cluster))) return false;
  if (rules.severity && !meetsThreshold(incident.severity, rules.severity)) return false;
  return Object.entries(rules.labels).every(([key, value]) => labels[key] === value);
}
