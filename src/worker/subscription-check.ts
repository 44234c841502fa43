/**
 * Whether a push subscription still exists on its server. The events server cancels a subscription
 * without notice when one notification cannot be delivered, and replays nothing; where it offers
 * `events_list_subscriptions` (the session's subscriptions), faultline asks it.
 */
import type { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { ErrorCode, McpError } from "@modelcontextprotocol/sdk/types.js";
import { errorMessage } from "../log.ts";
import { mentionsMissingTool, textContent, toolArguments } from "./mcp.ts";

/** The tool that lists a session's subscriptions. */
export const LIST_SUBSCRIPTIONS_TOOL = "events_list_subscriptions";

/** What a check found: the subscription is `present`, `gone`, or the server cannot tell (`unsupported`). */
export type SubscriptionCheck = "present" | "gone" | "unsupported";

/**
 * Asks the server (through `client`) whether `subscriptionId` is among the session's subscriptions.
 * Rejects when the server does not answer within `timeoutMs` or answers with another error.
 *
 * @example
 * ```ts
 * if ((await checkSubscription(client, id, 10_000)) === "gone") await subscribeAgain();
 * ```
 */
export async function checkSubscription(
  client: Client,
  subscriptionId: string,
  timeoutMs: number,
  context?: string,
): Promise<SubscriptionCheck> {
  let result: Awaited<ReturnType<Client["callTool"]>>;
  try {
    result = await client.callTool(
      { name: LIST_SUBSCRIPTIONS_TOOL, arguments: toolArguments(context, {}) },
      undefined,
      { timeout: timeoutMs },
    );
  } catch (error) {
    if (mentionsMissingTool(errorMessage(error), LIST_SUBSCRIPTIONS_TOOL)) return "unsupported";
    throw error;
  }
  const text = textContent(result.content);
  if (result.isError) {
    if (mentionsMissingTool(text, LIST_SUBSCRIPTIONS_TOOL)) return "unsupported";
    throw new CheckRefused(text);
  }
  return text.includes(subscriptionId) ? "present" : "gone";
}

/** The server answered the check with a tool error (`isError`) that is not about a missing tool. */
export class CheckRefused extends Error {
  constructor(text: string) {
    super(`${LIST_SUBSCRIPTIONS_TOOL} failed: ${text.trim().slice(0, 200) || "(no reason given)"}`);
    this.name = "CheckRefused";
  }
}

/**
 * Whether a check that rejected with `error` still got an answer from the server (a tool error, a
 * JSON-RPC error): the session is alive. No answer within the timeout, a closed connection, an HTTP
 * error or a refused body are not answers, as they are not for a ping.
 *
 * @example
 * ```ts
 * checkSubscription(client, id, 10_000).catch((error) => (answeredAnyway(error) ? alive() : lose(error)));
 * ```
 */
export function answeredAnyway(error: unknown): boolean {
  if (error instanceof CheckRefused) return true;
  return (
    error instanceof McpError &&
    error.code !== ErrorCode.RequestTimeout &&
    error.code !== ErrorCode.ConnectionClosed
  );
}
