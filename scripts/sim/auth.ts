/**
 * What a simulated server demands before it answers, like a hardened deployment (a gateway checking
 * `Authorization: Bearer <key>`, an API-key header): a request without it gets 401 (wrong or missing
 * token) or 403 (a required header missing or wrong), with a JSON body that never echoes what was sent.
 */

/** The credentials a simulated server requires; nothing set = none. */
export interface SimAuth {
  /** Required as `Authorization: Bearer <token>`; null or undefined = no token required. */
  bearerToken?: string | null;
  /** Headers that must be present with these values. */
  headers?: Record<string, string>;
}

/** The refusal for `request` under `auth`, or null when it may pass. */
export function refusal(request: Request, auth: SimAuth): Response | null {
  if (auth.bearerToken) {
    const header = request.headers.get("authorization") ?? "";
    if (header !== `Bearer ${auth.bearerToken}`) {
      return Response.json(
        { error: header ? "invalid bearer token" : "bearer token required" },
        { status: 401, headers: { "www-authenticate": 'Bearer realm="sim"' } },
      );
    }
  }
  for (const [name, value] of Object.entries(auth.headers ?? {})) {
    if (request.headers.get(name) !== value) {
      return Response.json({ error: `header ${name} missing or wrong` }, { status: 403 });
    }
  }
  return null;
}
