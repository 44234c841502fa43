/**
 * Limits how fast one client address may guess the API token (`health.auth_token`): each address has a
 * bucket of {@link FAILED_AUTH_BURST} failed attempts that refills one every {@link FAILED_AUTH_REFILL_MS}.
 * An address whose bucket is empty is refused (429) before its credentials are even compared, right or
 * wrong, until a failure's worth has refilled: with the defaults at most 10 guesses a minute, 14,400 a
 * day. Clients that send the right token never fail, so they spend nothing; only one sharing an address
 * with a guesser (behind the same proxy) waits with it. Requests without credentials (a browser sent to
 * the login form) are not guesses and are not counted.
 */

/** Failed attempts an address may make in a row. */
export const FAILED_AUTH_BURST = 10;
/** One more failed attempt is allowed this often. */
export const FAILED_AUTH_REFILL_MS = 6000;
/** Addresses remembered at most (the least recently failed are forgotten first). */
export const MAX_TRACKED_CLIENTS = 10_000;

/** Options for {@link FailedAuthThrottle}. */
export interface ThrottleOptions {
  burst?: number;
  refillMs?: number;
  maxClients?: number;
  /** Milliseconds clock (tests). */
  now?: () => number;
}

interface Bucket {
  /** Failed attempts still allowed, fractional while refilling. */
  tokens: number;
  /** When `tokens` was last brought up to date. */
  atMs: number;
}

/**
 * A failed-attempt budget per client address.
 *
 * @example
 * ```ts
 * const throttle = new FailedAuthThrottle();
 * const waitMs = throttle.retryAfterMs(address);
 * if (waitMs > 0) return tooMany(waitMs);
 * if (!valid(credentials)) throttle.failed(address);
 * ```
 */
export class FailedAuthThrottle {
  readonly #burst: number;
  readonly #refillMs: number;
  readonly #maxClients: number;
  readonly #now: () => number;
  /** Buckets by address, least recently failed first; a full bucket is not kept. */
  readonly #buckets = new Map<string, Bucket>();

  constructor(options: ThrottleOptions = {}) {
    this.#burst = options.burst ?? FAILED_AUTH_BURST;
    this.#refillMs = options.refillMs ?? FAILED_AUTH_REFILL_MS;
    this.#maxClients = options.maxClients ?? MAX_TRACKED_CLIENTS;
    this.#now = options.now ?? Date.now;
  }

  /** Addresses with failures not yet refilled. */
  get tracked(): number {
    return this.#buckets.size;
  }

  /** 0 when `client` may try now; else how long until it may (whole milliseconds, > 0). */
  retryAfterMs(client: string): number {
    const bucket = this.#current(client);
    if (!bucket || bucket.tokens >= 1) return 0;
    return Math.max(1, Math.ceil((1 - bucket.tokens) * this.#refillMs));
  }

  /** Spends one of `client`'s failed attempts. */
  failed(client: string): void {
    const bucket = this.#current(client) ?? { tokens: this.#burst, atMs: this.#now() };
    bucket.tokens = Math.max(0, bucket.tokens - 1);
    // Re-inserted: the map's order is least recently failed first.
    this.#buckets.delete(client);
    this.#buckets.set(client, bucket);
    for (const oldest of this.#buckets.keys()) {
      if (this.#buckets.size <= this.#maxClients) break;
      this.#buckets.delete(oldest);
    }
  }

  /** `client`'s bucket refilled up to now, or undefined when it is full (and then forgotten). */
  #current(client: string): Bucket | undefined {
    const bucket = this.#buckets.get(client);
    if (!bucket) return undefined;
    const now = this.#now();
    bucket.tokens = Math.min(this.#burst, bucket.tokens + (now - bucket.atMs) / this.#refillMs);
    bucket.atMs = now;
    if (bucket.tokens < this.#burst) return bucket;
    this.#buckets.delete(client);
    return undefined;
  }
}
