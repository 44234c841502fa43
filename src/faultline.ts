/** What a running faultline is, as `startFaultline` (src/app.ts) returns it to the CLI and the tests. */
import type { Registry } from "./cluster/registry.ts";
import type { Supervisor } from "./cluster/supervisor.ts";
import type { FaultlineConfig } from "./config/types.ts";
import type { RunningServer } from "./http/serve.ts";
import type { Dispatcher } from "./incidents/dispatcher.ts";
import type { IncidentStore } from "./incidents/store-api.ts";
import type { Notifications } from "./notify/service.ts";
import type { DropCounts } from "./pipeline/stages.ts";
import type { ReloadOutcome } from "./reload/reloader.ts";

/** A running faultline. */
export interface Faultline {
  /** The config running now (changes on reload). */
  readonly config: FaultlineConfig;
  registry: Registry;
  supervisor: Supervisor;
  store: IncidentStore;
  /** Null while no agent has been configured. */
  readonly dispatcher: Dispatcher | null;
  /** Null when the health server is disabled. */
  http: RunningServer | null;
  /** Plans and delivers notifications (the outbox worker). */
  notifications: Notifications;
  /** Events that did not reach the store, by reason (live). */
  dropped: DropCounts;
  /** Re-reads the config and applies what changed (SIGHUP, `POST /-/reload`); never rejects. */
  reload(trigger?: string): Promise<ReloadOutcome>;
  /**
   * Graceful stop: take no new events, unsubscribe and close every session, store what is in flight,
   * let running agents finish for up to `graceMs` (default `shutdown_timeout_seconds`), then end them.
   */
  stop(graceMs?: number): Promise<void>;
}
