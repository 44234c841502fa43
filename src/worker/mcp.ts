/**
 * MCP plumbing the cluster connection needs and the SDK does not give: a fetch that watches the
 * standalone event stream, reading tool answers, and bounded waits.
 */
import type { FetchLike } from "@modelcontextprotocol/sdk/shared/transport.js";
import type { jsonSchemaValidator } from "@modelcontextprotocol/sdk/validation";
import { AjvJsonSchemaValidator } from "@modelcontextprotocol/sdk/validation/ajv";
import { errorMessage } from "../log.ts";
import type { Flow } from "./flow.ts";

let ajv: AjvJsonSchemaValidator | null = null;

/**
 * One JSON-schema validator for every MCP client in this thread, built the first time a client needs
 * it. Left to itself, each SDK `Client` builds its own Ajv instance: measured, a quarter of the CPU
 * of opening 1000 connections, and memory per connection. faultline validates what it receives with
 * valibot and calls no tool whose output schema the SDK would check, so it is rarely built at all.
 */
export const sharedSchemaValidator: jsonSchemaValidator = {
  getValidator: (schema) => {
    ajv ??= new AjvJsonSchemaValidator();
    return ajv.getValidator(schema);
  },
};

/**
 * A fetch for the MCP transport that watches the standalone event stream (the only GET the
 * transport makes): reports when it opens and when it ends, breaks or is refused.
 */
export function watchEventStream(
  onOpen: () => void,
  onLost: (reason: string) => void,
  flow?: Flow,
): FetchLike {
  return async (url, init) => {
    const response = await fetch(url, init);
    if ((init?.method ?? "GET") !== "GET") return response;
    if (!response.ok) {
      const why =
        response.status === 404
          ? " (session unknown to the server)"
          : response.status === 405
            ? " (the server offers no event stream)"
            : "";
      onLost(`event stream refused: HTTP ${response.status}${why}`);
      return response;
    }
    if (!response.body) return response;
    onOpen();
    return new Response(watchBody(response.body, onLost, flow), {
      status: response.status,
      statusText: response.statusText,
      headers: response.headers,
    });
  };
}

/** Passes a body through, calling `onEnd` when it ends or breaks, and reading only while `flow` allows. */
function watchBody(
  body: ReadableStream<Uint8Array>,
  onEnd: (reason: string) => void,
  flow?: Flow,
): ReadableStream<Uint8Array> {
  const reader = body.getReader();
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      // Held: read nothing more until released (the socket fills, the server waits).
      const held = flow?.ready();
      if (held) await held;
      try {
        const { done, value } = await reader.read();
        if (done) {
          onEnd("event stream ended by the server");
          controller.close();
        } else controller.enqueue(value);
      } catch (error) {
        onEnd(`event stream broke: ${errorMessage(error)}`);
        controller.error(error);
      }
    },
    cancel(reason) {
      return reader.cancel(reason);
    },
  });
}

/** True when `text` says the server has no tool named `tool`. */
export function mentionsMissingTool(text: string, tool = "events_subscribe"): boolean {
  return text.includes(tool) && /unknown tool|not found|no such tool/i.test(text);
}

/** The text of a tool answer's text contents, joined by newlines. */
export function textContent(content: unknown): string {
  if (!Array.isArray(content)) return "";
  return content
    .map((item: unknown) => {
      const part = item as { type?: unknown; text?: unknown };
      return part.type === "text" && typeof part.text === "string" ? part.text : "";
    })
    .join("\n");
}

/** Finds the JSON object embedded in the subscribe answer and reads its `subscriptionId`. */
export function findSubscriptionId(text: string): string | null {
  const start = text.indexOf("{");
  const end = text.lastIndexOf("}");
  if (start >= 0 && end > start) {
    try {
      const parsed = JSON.parse(text.slice(start, end + 1)) as { subscriptionId?: unknown };
      if (typeof parsed.subscriptionId === "string" && parsed.subscriptionId) return parsed.subscriptionId;
    } catch {
      // fall through to the pattern below
    }
  }
  return /"subscriptionId"\s*:\s*"([^"]+)"/.exec(text)?.[1] ?? null;
}

/** `work`, or a rejection with `message` after `ms`. */
export function withTimeout<T>(work: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(message)), ms);
  });
  return Promise.race([work, timeout]).finally(() => clearTimeout(timer));
}
