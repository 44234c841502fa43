/**
 * The `slack` sink: a Block Kit message to an incoming webhook. A header (fault and cluster), fields
 * for cluster, resource, fault and status, the agent's summary (root cause and actions when given),
 * and the incident's id with its link (`health.public_url`). Every value from a cluster or an agent
 * is escaped for Slack's mrkdwn (`&`, `<`, `>`), so none can forge a link or a mention, and is cut to
 * Block Kit's limits.
 */
import type { NotificationMessage } from "./message.ts";
import { clip, jsonHeaders, resourceText, type SinkRequest } from "./request.ts";

/** A Block Kit text object. */
interface TextObject {
  type: "plain_text" | "mrkdwn";
  text: string;
}

/** The Block Kit blocks faultline uses. */
type Block =
  | { type: "header"; text: TextObject }
  | { type: "section"; text?: TextObject; fields?: TextObject[] }
  | { type: "context"; elements: TextObject[] };

/** An incoming-webhook message: `text` is the notification fallback, `blocks` what Slack shows. */
export interface SlackMessage {
  text: string;
  blocks: Block[];
}

/** Block Kit limits: header text, a field, a section's text. */
const HEADER_MAX = 150;
const FIELD_MAX = 2000;
const SECTION_MAX = 3000;

const EVENT_WORDS: Record<NotificationMessage["event"], string> = {
  opened: "opened",
  triaged: "triaged",
  failed: "triage failed",
};

/**
 * `text` safe in Slack mrkdwn: `&`, `<` and `>` escaped (no links, mentions or channel pings can be
 * forged).
 */
export function escapeMrkdwn(text: string): string {
  return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}

const mrkdwn = (text: string, max: number): TextObject => ({ type: "mrkdwn", text: clip(text, max) });
const field = (label: string, value: string): TextObject =>
  mrkdwn(`*${label}*\n${escapeMrkdwn(value)}`, FIELD_MAX);

/** The Block Kit message for `message`. */
export function toSlackMessage(message: NotificationMessage): SlackMessage {
  const { incident, summary, run } = message;
  const resource = resourceText(incident.resource);
  const headline = `${incident.fault_type} on ${incident.cluster}: ${EVENT_WORDS[message.event]}`;
  const status = run ? `${incident.status} (attempt ${run.attempt})` : incident.status;
  const blocks: Block[] = [
    { type: "header", text: { type: "plain_text", text: clip(headline, HEADER_MAX) } },
    {
      type: "section",
      fields: [
        field("Cluster", incident.cluster),
        field("Resource", resource),
        field("Fault", `${incident.fault_type} (${incident.severity})`),
        field("Status", status),
      ],
    },
  ];
  if (summary) {
    blocks.push({
      type: "section",
      text: mrkdwn(`*Summary*\n${escapeMrkdwn(summary.summary)}`, SECTION_MAX),
    });
    if (summary.root_cause) {
      const text = `*Root cause*${summary.confidence ? ` (confidence: ${summary.confidence})` : ""}\n`;
      blocks.push({ type: "section", text: mrkdwn(text + escapeMrkdwn(summary.root_cause), SECTION_MAX) });
    }
    if (summary.actions && summary.actions.length > 0) {
      const list = summary.actions.map((action) => `• ${escapeMrkdwn(action)}`).join("\n");
      blocks.push({ type: "section", text: mrkdwn(`*Suggested actions*\n${list}`, SECTION_MAX) });
    }
  } else if (message.summary_error) {
    blocks.push({
      type: "section",
      text: mrkdwn(`_No summary: ${escapeMrkdwn(message.summary_error)}_`, SECTION_MAX),
    });
  }
  const id = escapeMrkdwn(incident.id);
  blocks.push({
    type: "context",
    elements: [mrkdwn(incident.url ? `Incident <${incident.url}|${id}>` : `Incident ${id}`, FIELD_MAX)],
  });
  return { text: clip(escapeMrkdwn(`faultline: ${headline} (${resource})`), SECTION_MAX), blocks };
}

/** The Slack incoming-webhook POST for `message`. */
export function slackRequest(url: string, message: NotificationMessage, key: string): SinkRequest {
  return { url, headers: jsonHeaders(key), body: JSON.stringify(toSlackMessage(message)) };
}
