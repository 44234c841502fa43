/** @jsxImportSource hono/jsx */
/**
 * The status page's front page (`GET /`): the clusters with their connection state, and the recent
 * incidents, filtered by cluster and status with a plain GET form (no JavaScript).
 */
import type { ClusterState } from "../cluster/registry.ts";
import { describeResource } from "../events/fault.ts";
import type { OverallStatus } from "../http/overall.ts";
import { INCIDENT_STATUSES, type Incident, type IncidentStatus } from "../incidents/model.ts";
import { ago, duration } from "./format.ts";
import { Badge, Frame, Labels, TableHead } from "./layout.tsx";

/** A cluster as the page shows it: its live state and its incidents by status. */
export interface DashboardCluster extends ClusterState {
  incidents: Partial<Record<IncidentStatus, number>>;
}

/** Everything the front page shows. */
export interface DashboardProps {
  overall: OverallStatus;
  version: string;
  uptimeMs: number;
  clusters: DashboardCluster[];
  /** The incidents the filter selected, newest first; null when the filter was refused. */
  incidents: Incident[] | null;
  /** The filter as asked (refused or not), to fill the form. */
  asked: { cluster?: string | undefined; status?: string | undefined };
  /** Why the filter was refused. */
  filterError: string | null;
  loggedIn: boolean;
  nowMs: number;
}

/** The front page. */
export function Dashboard(props: DashboardProps) {
  return (
    <Frame
      title={`faultline — ${props.overall}`}
      root="./"
      refresh={true}
      loggedIn={props.loggedIn}
      meta={`v${props.version} · up ${duration(props.uptimeMs)}`}
    >
      <h1>
        Clusters <Badge value={props.overall} title="overall status" />
      </h1>
      <section class="card">
        <ClusterTable clusters={props.clusters} nowMs={props.nowMs} />
      </section>
      <h2 id="incidents">Recent incidents</h2>
      <section class="card">
        <FilterForm clusters={props.clusters.map((c) => c.name)} asked={props.asked} />
        {props.filterError !== null && <div class="banner">{props.filterError}</div>}
        {props.incidents !== null && <IncidentTable incidents={props.incidents} nowMs={props.nowMs} />}
      </section>
    </Frame>
  );
}

function ClusterTable(props: { clusters: DashboardCluster[]; nowMs: number }) {
  if (props.clusters.length === 0) return <p class="muted">No cluster is configured.</p>;
  return (
    <table>
      <TableHead
        columns={[
          "Cluster",
          "Status",
          "Mode",
          "Last event",
          "Last error",
          "Reconnects",
          "Labels",
          "Incidents",
        ]}
      />
      <tbody>
        {props.clusters.map((cluster) => (
          <tr>
            <td>
              <a href={`./?cluster=${encodeURIComponent(cluster.name)}#incidents`}>{cluster.name}</a>
            </td>
            <td class="nowrap">
              <Badge value={cluster.status} /> <span class="muted">{ago(cluster.since, props.nowMs)}</span>
              {cluster.retry_in_ms !== null && (
                <div class="muted">retry in {duration(cluster.retry_in_ms)}</div>
              )}
            </td>
            <td>{cluster.mode ?? "—"}</td>
            <td>
              {ago(cluster.last_event_at, props.nowMs)}
              <div class="muted">
                {cluster.event_count} {cluster.event_count === 1 ? "event" : "events"}
              </div>
            </td>
            <td class="err">
              {cluster.last_error ?? ""}
              {cluster.subscription_error !== null && <div>watch: {cluster.subscription_error}</div>}
              {cluster.last_error === null && cluster.subscription_error === null && (
                <span class="muted">—</span>
              )}
            </td>
            <td class="num">{cluster.reconnects}</td>
            <td>
              <Labels labels={cluster.labels} />
            </td>
            <td>
              <IncidentCounts counts={cluster.incidents} />
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

function IncidentCounts(props: { counts: Partial<Record<IncidentStatus, number>> }) {
  const entries = INCIDENT_STATUSES.flatMap((status) => {
    const count = props.counts[status] ?? 0;
    return count > 0 ? [`${count} ${status}`] : [];
  });
  return entries.length === 0 ? <span class="muted">none</span> : <span>{entries.join(" · ")}</span>;
}

function FilterForm(props: { clusters: string[]; asked: DashboardProps["asked"] }) {
  const { cluster, status } = props.asked;
  const clusters =
    cluster && !props.clusters.includes(cluster) ? [...props.clusters, cluster] : props.clusters;
  return (
    <form class="filters" method="get" action="./#incidents">
      <Choice label="Cluster" name="cluster" any="all clusters" values={clusters} chosen={cluster} />
      <Choice label="Status" name="status" any="any status" values={INCIDENT_STATUSES} chosen={status} />
      <button class="primary" type="submit">
        Filter
      </button>
      <a href="./#incidents">clear</a>
    </form>
  );
}

/** A labelled `<select>` of `values`, with an empty first choice `any`, `chosen` selected. */
function Choice(props: {
  label: string;
  name: string;
  any: string;
  values: readonly string[];
  chosen: string | undefined;
}) {
  return (
    <label>
      {props.label}
      <select name={props.name}>
        <option value="">{props.any}</option>
        {props.values.map((value) => (
          <option value={value} selected={value === props.chosen}>
            {value}
          </option>
        ))}
      </select>
    </label>
  );
}

function IncidentTable(props: { incidents: Incident[]; nowMs: number }) {
  if (props.incidents.length === 0) return <p class="muted">No incident matches.</p>;
  return (
    <table>
      <TableHead
        columns={["Incident", "Cluster", "Fault", "Severity", "Resource", "Status", "Events", "Last seen"]}
      />
      <tbody>
        {props.incidents.map((incident) => (
          <tr>
            <td class="mono">
              <a href={`./ui/incidents/${encodeURIComponent(incident.id)}`}>{incident.id}</a>
            </td>
            <td>{incident.cluster}</td>
            <td>{incident.fault_type}</td>
            <td>
              <Badge value={incident.severity} />
            </td>
            <td class="mono">{describeResource(incident.resource)}</td>
            <td>
              <Badge value={incident.status} />
              {incident.skip_reason !== null && <div class="muted">{incident.skip_reason}</div>}
            </td>
            <td class="num">{incident.count}</td>
            <td class="nowrap">{ago(incident.last_seen, props.nowMs)}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
