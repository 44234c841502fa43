/**
 * The `alertmanager` sink: POST `<url>/api/v2/alerts` (the Alertmanager v2 API; a `url` that already
 * ends in `/api/v2/alerts` is used as it is) with one alert per message. Labels: `alertname`
 * (`FaultlineIncident`), `cluster`, `fault_type`, `severity`, `namespace` (absent for cluster-scoped
 * objects), `resource` and `incident_id` (so two incidents never merge into one alert); annotations:
 * `summary`, `status`, `report_url` (with `health.public_url`), and `root_cause` when the agent gave one.
 */
import type { NotificationMessage } from "./message.ts";
import { clip, jsonHeaders, resourceText, type SinkRequest } from "./request.ts";

/** The alert's name. */
export const ALERT_NAME = "FaultlineIncident";
/** Where alerts are posted, below the Alertmanager's base URL. */
export const ALERTS_PATH = "/api/v2/alerts";

/** One alert as the Alertmanager v2 API takes it (`postableAlert`). */
export interface PostableAlert {
  labels: Record<string, string>;
  annotations: Record<string, string>;
  startsAt: string;
  generatorURL?: string;
}

/** The alerts endpoint for an Alertmanager base `url`. */
export function alertsUrl(url: string): string {
  const base = url.replace(/\/+$/, "");
  return base.endsWith(ALERTS_PATH) ? base : `${base}${ALERTS_PATH}`;
}

/** The alert for `message`. */
export function toAlert(message: NotificationMessage): PostableAlert {
  const { incident, summary } = message;
  const labels: Record<string, string> = {
    alertname: ALERT_NAME,
    cluster: incident.cluster,
    fault_type: incident.fault_type,
    severity: incident.severity,
    resource: `${incident.resource.kind}/${incident.resource.name}`,
    incident_id: incident.id,
  };
  if (incident.resource.namespace) labels.namespace = incident.resource.namespace;
  const annotations: Record<string, string> = {
    summary: clip(
      summary?.summary ??
        `${incident.fault_type} on ${resourceText(incident.resource)} (${incident.cluster})`,
      4096,
    ),
    status: message.event,
  };
  if (summary?.root_cause) annotations.root_cause = clip(summary.root_cause, 4096);
  if (incident.url) annotations.report_url = incident.url;
  const alert: PostableAlert = { labels, annotations, startsAt: incident.first_seen };
  if (incident.url) alert.generatorURL = incident.url;
  return alert;
}

/** The Alertmanager POST for `message`. */
export function alertmanagerRequest(url: string, message: NotificationMessage, key: string): SinkRequest {
  return { url: alertsUrl(url), headers: jsonHeaders(key), body: JSON.stringify([toAlert(message)]) };
}
