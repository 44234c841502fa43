/**
 * The MCP tools a simulated cluster lists (the stock server's `events_list`, plus the events extension's) and
 * the handlers of `events_subscribe` / `events_unsubscribe`.
 */
import type { CallToolResult, Tool } from "@modelcontextprotocol/sdk/types.js";
import * as v from "valibot";
import { rfc3339Now } from "./faults.ts";
import { newSubscriptionId, SubscribeArgsSchema, type Subscription } from "./subscriptions.ts";
import { SUBSCRIPTIONS_PER_SERVER, SUBSCRIPTIONS_PER_SESSION } from "./types.ts";

const EVENTS_LIST_TOOL: Tool = {
  name: "events_list",
  description: "List all the Kubernetes events in the current cluster from all namespaces",
  inputSchema: {
    type: "object",
    properties: {
      namespace: { type: "string", description: "Optional Namespace to retrieve the events from" },
      fieldSelector: {
        type: "string",
        description:
          "Optional field selector (type, reason, involvedObject.kind; = or !=), e.g. type=Warning",
      },
    },
  },
};

const EVENTS_SUBSCRIBE_TOOL: Tool = {
  name: "events_subscribe",
  description: "Subscribe to Kubernetes events or detected faults; they are pushed as logging notifications",
  inputSchema: {
    type: "object",
    properties: {
      mode: { type: "string", enum: ["faults", "events"] },
      namespaces: { type: "array", items: { type: "string" } },
      labelSelector: { type: "string" },
      involvedKind: { type: "string" },
      involvedName: { type: "string" },
      involvedNamespace: { type: "string" },
      type: { type: "string", enum: ["Normal", "Warning"] },
      reason: { type: "string", description: "Reason prefix" },
    },
    required: ["mode"],
  },
};

const EVENTS_UNSUBSCRIBE_TOOL: Tool = {
  name: "events_unsubscribe",
  description: "Cancel a subscription created by events_subscribe",
  inputSchema: {
    type: "object",
    properties: { subscriptionId: { type: "string" } },
    required: ["subscriptionId"],
  },
};

const EVENTS_LIST_SUBSCRIPTIONS_TOOL: Tool = {
  name: "events_list_subscriptions",
  description: "List the active subscriptions of the current session",
  inputSchema: { type: "object", properties: {} },
};

/** Tools of a server with the events extension. */
export const EXTENSION_TOOLS: Tool[] = [
  EVENTS_LIST_TOOL,
  EVENTS_SUBSCRIBE_TOOL,
  EVENTS_UNSUBSCRIBE_TOOL,
  EVENTS_LIST_SUBSCRIPTIONS_TOOL,
];
/** Tools of a server with the events extension that cannot list subscriptions (an older fork). */
export const EXTENSION_TOOLS_WITHOUT_LIST: Tool[] = [
  EVENTS_LIST_TOOL,
  EVENTS_SUBSCRIBE_TOOL,
  EVENTS_UNSUBSCRIBE_TOOL,
];
/** Tools of the stock server. */
export const STOCK_TOOLS: Tool[] = [EVENTS_LIST_TOOL];

/** A tool result carrying one text item (an error result when `isError`). */
export function textResult(text: string, isError = false): CallToolResult {
  return isError
    ? { content: [{ type: "text", text }], isError: true }
    : { content: [{ type: "text", text }] };
}

/** Where a session's subscriptions live, and how many the whole server has (for the per-server limit). */
export interface SubscriptionScope {
  /** The session's subscriptions, by id. */
  readonly subscriptions: Map<string, Subscription>;
  /** The `cluster` field the server puts into payloads. */
  readonly serverClusterName: string;
  /** Active subscriptions over all the server's sessions. */
  serverSubscriptions(): number;
}

/** `events_subscribe`: validates the arguments, enforces the limits and adds the subscription. */
export function subscribe(scope: SubscriptionScope, args: Record<string, unknown>): CallToolResult {
  const parsed = v.safeParse(SubscribeArgsSchema, args);
  if (!parsed.success) return textResult(`invalid arguments: ${v.summarize(parsed.issues)}`, true);
  const limitError = subscriptionLimitError(scope);
  if (limitError) return textResult(limitError, true);
  const { mode, ...filters } = parsed.output;
  const subscription: Subscription = { id: newSubscriptionId(), mode, filters, createdAt: rfc3339Now() };
  scope.subscriptions.set(subscription.id, subscription);
  const body = {
    subscriptionId: subscription.id,
    cluster: scope.serverClusterName,
    mode,
    filters,
    createdAt: subscription.createdAt,
    status: "active",
  };
  return textResult(`Subscription created:\n\`\`\`json\n${JSON.stringify(body, null, 2)}\n\`\`\``);
}

function subscriptionLimitError(scope: SubscriptionScope): string | null {
  if (scope.subscriptions.size >= SUBSCRIPTIONS_PER_SESSION) {
    return `subscription limit reached: at most ${SUBSCRIPTIONS_PER_SESSION} subscriptions per session`;
  }
  if (scope.serverSubscriptions() >= SUBSCRIPTIONS_PER_SERVER) {
    return `subscription limit reached: at most ${SUBSCRIPTIONS_PER_SERVER} subscriptions per server`;
  }
  return null;
}

/** `events_unsubscribe`: removes a subscription of the session (not finding it is no error). */
export function unsubscribe(
  subscriptions: Map<string, Subscription>,
  args: Record<string, unknown>,
): CallToolResult {
  const { subscriptionId } = args;
  if (typeof subscriptionId !== "string" || subscriptionId === "") {
    return textResult("invalid arguments: subscriptionId is required", true);
  }
  const removed = subscriptions.delete(subscriptionId);
  return textResult(
    removed
      ? `Subscription ${subscriptionId} cancelled`
      : `Subscription ${subscriptionId} not found (already cancelled)`,
  );
}

/** `events_list_subscriptions`: the session's subscriptions as `{ "subscriptions": [...] }`. */
export function listSubscriptions(subscriptions: Map<string, Subscription>): CallToolResult {
  const list = [...subscriptions.values()].map((s) => ({
    subscriptionId: s.id,
    mode: s.mode,
    filters: s.filters,
    createdAt: s.createdAt,
  }));
  return textResult(JSON.stringify({ subscriptions: list }, null, 2));
}
