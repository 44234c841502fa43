/**
 * Time from a server's return to active: the harness says when a cluster's server came back (or faultline
 * started), faultline's `cluster status` lines say when the cluster was active again. A return cut short by
 * another disruption of the same cluster, or by a faultline kill, is recorded as censored, not measured.
 */
import type { ReturnKind, ReturnRecord } from "./ledger.ts";

/** Pairs returns with the first `active` that follows them, per cluster. */
export class ReturnTracker {
  readonly #pending = new Map<string, ReturnRecord>();

  /** @param record receives every finished record (measured or censored) */
  constructor(readonly record: (entry: ReturnRecord) => void) {}

  /**
   * `cluster`'s server is back (of `kind`) at `atMs`, or (replica mode) the `replica` holding it died or
   * stopped: measure until it is active.
   */
  returned(cluster: string, kind: ReturnKind, atMs: number, replica?: string): void {
    this.disrupted(cluster);
    this.#pending.set(cluster, {
      cluster,
      kind,
      at_ms: atMs,
      active_ms: null,
      ...(replica ? { replica } : {}),
    });
  }

  /** `cluster` is disrupted again: a return still waiting is censored. */
  disrupted(cluster: string): void {
    const pending = this.#pending.get(cluster);
    if (!pending) return;
    this.#pending.delete(cluster);
    this.record({ ...pending, censored: true });
  }

  /** faultline was killed: every return still waiting is censored. */
  faultlineKilled(): void {
    for (const cluster of [...this.#pending.keys()]) this.disrupted(cluster);
  }

  /**
   * faultline (replica mode: the replica `by`) logged `cluster` active at `atMs`: a waiting return that came
   * before is measured.
   */
  active(cluster: string, atMs: number, by?: string): void {
    const pending = this.#pending.get(cluster);
    if (!pending || atMs < pending.at_ms) return;
    this.#pending.delete(cluster);
    this.record({ ...pending, active_ms: atMs, ...(by ? { active_by: by } : {}) });
  }

  /** Whether a return of `cluster` is still waiting for active. */
  waiting(cluster: string): boolean {
    return this.#pending.has(cluster);
  }

  /** Ends the run: returns still waiting are recorded as never active; returns their clusters. */
  finish(): string[] {
    const never = [...this.#pending.values()];
    this.#pending.clear();
    for (const entry of never) this.record(entry);
    return never.map((entry) => entry.cluster);
  }
}
