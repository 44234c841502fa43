/**
 * Incident filters given as text — the HTTP query of `GET /incidents` and the flags of
 * `faultline incidents` — checked by one set of rules with one set of messages.
 */
import * as v from "valibot";
import { INCIDENT_STATUSES, type IncidentFilter, MAX_LIST_LIMIT } from "./model.ts";

const LIMIT_MESSAGE = `must be an integer from 1 to ${MAX_LIST_LIMIT}`;

/** `cluster`, `status`, `limit`: every one optional, no others; values arrive as text. */
const IncidentFilterSchema = v.strictObject(
  {
    cluster: v.optional(v.pipe(v.string(), v.minLength(1, "must not be empty"))),
    status: v.optional(v.picklist(INCIDENT_STATUSES, `must be one of ${INCIDENT_STATUSES.join(", ")}`)),
    limit: v.optional(
      v.pipe(
        v.string(),
        v.regex(/^[0-9]{1,7}$/, LIMIT_MESSAGE),
        v.transform(Number),
        v.minValue(1, LIMIT_MESSAGE),
        v.maxValue(MAX_LIST_LIMIT, LIMIT_MESSAGE),
      ),
    ),
  },
  "unknown query parameter",
);

/**
 * The store filter `input` asks for, or every problem as `name: message` joined by `; `, each
 * parameter named by `name` (e.g. `--status` on the command line).
 */
export function parseIncidentFilter(
  input: Record<string, string | undefined>,
  name: (key: string) => string = (key) => key,
): IncidentFilter | string {
  const given = Object.fromEntries(Object.entries(input).filter(([, value]) => value !== undefined));
  const result = v.safeParse(IncidentFilterSchema, given);
  if (result.success) return result.output;
  return result.issues.map((issue) => `${name(v.getDotPath(issue) ?? "query")}: ${issue.message}`).join("; ");
}
