/**
 * Listing filters given as text — the HTTP queries of `GET /incidents` and `GET /notifications`, the
 * flags of `faultline incidents` — checked by one set of rules with one set of messages.
 */
import * as v from "valibot";
import { INCIDENT_STATUSES, type IncidentFilter, MAX_LIST_LIMIT } from "./model.ts";
import { NOTIFICATION_STATUSES, type NotificationFilter } from "./outbox.ts";

const LIMIT_MESSAGE = `must be an integer from 1 to ${MAX_LIST_LIMIT}`;

const Name = v.optional(v.pipe(v.string(), v.minLength(1, "must not be empty")));
const Limit = v.optional(
  v.pipe(
    v.string(),
    v.regex(/^[0-9]{1,7}$/, LIMIT_MESSAGE),
    v.transform(Number),
    v.minValue(1, LIMIT_MESSAGE),
    v.maxValue(MAX_LIST_LIMIT, LIMIT_MESSAGE),
  ),
);

/** `cluster`, `status`, `limit`: every one optional, no others; values arrive as text. */
const IncidentFilterSchema = v.strictObject(
  {
    cluster: Name,
    status: v.optional(v.picklist(INCIDENT_STATUSES, `must be one of ${INCIDENT_STATUSES.join(", ")}`)),
    limit: Limit,
  },
  "unknown query parameter",
);

/** `sink`, `status`, `limit`: every one optional, no others; values arrive as text. */
const NotificationFilterSchema = v.strictObject(
  {
    sink: Name,
    status: v.optional(
      v.picklist(NOTIFICATION_STATUSES, `must be one of ${NOTIFICATION_STATUSES.join(", ")}`),
    ),
    limit: Limit,
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
  return parseFilter(IncidentFilterSchema, input, name);
}

/** The outbox filter `input` asks for (`sink`, `status`, `limit`), or every problem as for incidents. */
export function parseNotificationFilter(
  input: Record<string, string | undefined>,
): NotificationFilter | string {
  return parseFilter(NotificationFilterSchema, input, (key) => key);
}

function parseFilter<S extends v.GenericSchema>(
  schema: S,
  input: Record<string, string | undefined>,
  name: (key: string) => string,
): v.InferOutput<S> | string {
  const given = Object.fromEntries(Object.entries(input).filter(([, value]) => value !== undefined));
  const result = v.safeParse(schema, given);
  if (result.success) return result.output;
  return result.issues.map((issue) => `${name(v.getDotPath(issue) ?? "query")}: ${issue.message}`).join("; ");
}
