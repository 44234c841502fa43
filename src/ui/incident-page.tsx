/** @jsxImportSource hono/jsx */
/**
 * An incident's page (`GET /ui/incidents/:id`): its facts, the latest run's summary and rendered
 * `report.md` (sanitized, see markdown.ts), its runs, its events and its notifications.
 */
import { raw } from "hono/html";
import type { RunOutput } from "../agent/output.ts";
import { describeResource } from "../events/fault.ts";
import type { AgentRun, IncidentDetail, StoredEvent } from "../incidents/model.ts";
import type { Notification } from "../incidents/outbox.ts";
import { ago, clip, duration } from "./format.ts";
import { Badge, Frame, Labels, TableHead } from "./layout.tsx";
import { renderMarkdown } from "./markdown.ts";

/** Longest event context shown; the JSON route has all of it. */
const CONTEXT_SHOWN_CHARS = 4000;
/** The way back to the site's root from `/ui/incidents/:id`. */
const ROOT = "../../";

/** What an incident's page shows. */
export interface IncidentPageProps {
  detail: IncidentDetail;
  loggedIn: boolean;
  nowMs: number;
}

/** An incident's page. */
export function IncidentPage(props: IncidentPageProps) {
  const { incident, runs, events, notifications } = props.detail;
  const latest = runs.at(-1);
  const earlier = runs.slice(0, -1).filter((run) => run.output?.report);
  const json = `${ROOT}incidents/${encodeURIComponent(incident.id)}`;
  return (
    <Frame
      title={`${incident.fault_type} ${describeResource(incident.resource)} — faultline`}
      root={ROOT}
      refresh={true}
      loggedIn={props.loggedIn}
      meta={incident.id}
    >
      <p>
        <a href={`${ROOT}#incidents`}>← all incidents</a> · <a href={json}>JSON</a>
      </p>
      <h1>
        {incident.fault_type} <span class="mono">{describeResource(incident.resource)}</span>{" "}
        <Badge value={incident.status} />
      </h1>
      <section class="card">
        <dl class="facts">
          <dt>Incident</dt>
          <dd class="mono">{incident.id}</dd>
          <dt>Cluster</dt>
          <dd>
            <a href={`${ROOT}?cluster=${encodeURIComponent(incident.cluster)}#incidents`}>
              {incident.cluster}
            </a>
          </dd>
          <dt>Severity</dt>
          <dd>
            <Badge value={incident.severity} />
          </dd>
          <dt>Status</dt>
          <dd>
            {incident.status}
            {incident.skip_reason !== null && ` (${incident.skip_reason})`}
          </dd>
          <dt>Fault id</dt>
          <dd class="mono">{incident.fault_id}</dd>
          <dt>Events</dt>
          <dd>{incident.count}</dd>
          <dt>First seen</dt>
          <dd>
            {incident.first_seen} <span class="muted">({ago(incident.first_seen, props.nowMs)})</span>
          </dd>
          <dt>Last seen</dt>
          <dd>
            {incident.last_seen} <span class="muted">({ago(incident.last_seen, props.nowMs)})</span>
          </dd>
          <dt>Agent runs</dt>
          <dd>{incident.attempts}</dd>
        </dl>
      </section>
      <h2>Triage</h2>
      <section class="card" id="triage">
        {latest ? <Triage run={latest} /> : <p class="muted">No agent has run for this incident.</p>}
        {earlier.map((run) => (
          <details>
            <summary>Report of run {run.attempt}</summary>
            <Report output={run.output} />
          </details>
        ))}
      </section>
      <h2>Runs</h2>
      <section class="card">
        <RunTable runs={runs} />
      </section>
      <h2>Events</h2>
      <section class="card">
        <EventTable events={events} total={incident.count} />
      </section>
      <h2>Notifications</h2>
      <section class="card">
        <NotificationTable notifications={notifications} />
      </section>
    </Frame>
  );
}

function Triage(props: { run: AgentRun }) {
  const output = props.run.output;
  if (output === null) {
    const why = props.run.status === "running" ? "The agent is running." : "No output was recorded.";
    return <p class="muted">{why}</p>;
  }
  const summary = output.summary;
  return (
    <div>
      {summary ? (
        <>
          <p class="summary">{summary.summary}</p>
          <dl class="facts">
            {summary.root_cause !== undefined && (
              <>
                <dt>Root cause</dt>
                <dd>{summary.root_cause}</dd>
              </>
            )}
            {summary.confidence !== undefined && (
              <>
                <dt>Confidence</dt>
                <dd>
                  <Badge value={summary.confidence} />
                </dd>
              </>
            )}
          </dl>
          {summary.actions && summary.actions.length > 0 && (
            <ol>
              {summary.actions.map((action) => (
                <li>{action}</li>
              ))}
            </ol>
          )}
        </>
      ) : (
        <p class="muted">
          summary.json: {output.summary_status}
          {output.summary_error !== null && ` — ${output.summary_error}`}
        </p>
      )}
      <Report output={output} />
    </div>
  );
}

/** A run's report: rendered markdown, sanitized; or why there is none. */
function Report(props: { output: RunOutput | null }) {
  const output = props.output;
  if (output === null || output.report === null) {
    const status = output?.report_status ?? "missing";
    const why = output?.report_error ? ` — ${output.report_error}` : "";
    return <p class="muted">{`report.md: ${status}${why}`}</p>;
  }
  return (
    <div class="report">
      {raw(renderMarkdown(output.report))}
      {output.report_truncated && <p class="muted">(report.md was cut at {output.report_bytes} bytes)</p>}
    </div>
  );
}

function RunTable(props: { runs: AgentRun[] }) {
  if (props.runs.length === 0) return <p class="muted">None.</p>;
  return (
    <table>
      <TableHead
        columns={["Run", "Status", "Exit", "Started", "Duration", "report.md", "summary.json", "Error"]}
      />
      <tbody>
        {props.runs.map((run) => (
          <tr>
            <td class="num">{run.attempt}</td>
            <td>
              <Badge value={run.status} />
            </td>
            <td class="mono">{run.signal ?? (run.exit_code === null ? "—" : String(run.exit_code))}</td>
            <td>{run.started_at}</td>
            <td>{run.duration_ms === null ? "—" : duration(run.duration_ms)}</td>
            <td>{run.output ? <Badge value={run.output.report_status} /> : "—"}</td>
            <td>
              {run.output ? <Badge value={run.output.summary_status} /> : "—"}
              {run.output?.summary_error && <div class="muted">{run.output.summary_error}</div>}
            </td>
            <td class="err">{run.error ?? ""}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

function EventTable(props: { events: StoredEvent[]; total: number }) {
  return (
    <>
      {props.total > props.events.length && (
        <p class="muted">
          The latest {props.events.length} of {props.total} events.
        </p>
      )}
      <table>
        <TableHead columns={["Received", "Severity", "Fault", "Resource", "Labels", "Context"]} />
        <tbody>
          {props.events.map(({ received_at, event }) => (
            <tr>
              <td>{received_at}</td>
              <td>
                <Badge value={event.severity} />
              </td>
              <td>{event.fault_type}</td>
              <td class="mono">{describeResource(event.resource)}</td>
              <td>
                <Labels labels={event.labels} />
              </td>
              <td>
                <pre class="context">{clip(event.context, CONTEXT_SHOWN_CHARS)}</pre>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </>
  );
}

function NotificationTable(props: { notifications: Notification[] }) {
  if (props.notifications.length === 0) return <p class="muted">None.</p>;
  return (
    <table>
      <TableHead columns={["Sink", "On", "Status", "Attempts", "Updated", "Last error"]} />
      <tbody>
        {props.notifications.map((n) => (
          <tr>
            <td>{n.sink}</td>
            <td>{n.trigger}</td>
            <td>
              <Badge value={n.status} />
            </td>
            <td class="num">{n.attempts}</td>
            <td>{n.updated_at}</td>
            <td class="err">{n.last_error ?? ""}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
