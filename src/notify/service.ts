/**
 * Notifications as the running app holds them: the store's planner (which sinks hear about a status
 * change, decided inside the transaction that records it) and the {@link Notifier} delivering the
 * outbox. A config reload replaces both for what happens next; messages already in the outbox keep the
 * content they were committed with.
 */
import type { FaultlineConfig, NotifySinkConfig } from "../config/types.ts";
import type { IncidentStore } from "../incidents/store-api.ts";
import { planNotifications } from "./message.ts";
import { type AttemptStatus, Notifier } from "./notifier.ts";

/** Plans and delivers notifications; one per running faultline. */
export class Notifications {
  readonly #store: IncidentStore;
  #notifier: Notifier;
  #sinks: readonly NotifySinkConfig[];
  /** Attempts counted by notifiers that a reload replaced, so the totals never go back. */
  readonly #earlier = new Map<string, Record<AttemptStatus, number>>();

  /** Plans for `config`'s sinks from now on; call {@link start} to deliver. */
  constructor(store: IncidentStore, config: FaultlineConfig) {
    this.#store = store;
    this.#sinks = config.notify;
    store.configure({ notify: planNotifications(config) });
    this.#notifier = new Notifier({ sinks: config.notify, outbox: store.outbox });
  }

  /** The notifier delivering now. */
  get notifier(): Notifier {
    return this.#notifier;
  }

  /** Starts delivering (pending messages left by a previous run first). */
  start(): void {
    this.#notifier.start();
  }

  /** Something may have been added to the outbox. */
  kick(): void {
    this.#notifier.kick();
  }

  /** Delivery attempts since start, per sink and outcome. */
  totals(): ReadonlyMap<string, Readonly<Record<AttemptStatus, number>>> {
    const sums = new Map<string, Record<AttemptStatus, number>>();
    for (const source of [this.#earlier, this.#notifier.totals()]) {
      for (const [sink, counts] of source) {
        const sum = sums.get(sink) ?? { sent: 0, failed: 0, dead: 0 };
        for (const key of Object.keys(sum) as AttemptStatus[]) sum[key] += counts[key];
        sums.set(sink, sum);
      }
    }
    return sums;
  }

  /**
   * Config reload: new status changes are planned for `config`'s sinks (and clusters' labels, public
   * URL); when the sinks changed, the notifier is replaced (an attempt in flight is abandoned and its
   * message stays pending, so it is sent again: at least once).
   */
  async reconfigure(config: FaultlineConfig): Promise<void> {
    this.#store.configure({ notify: planNotifications(config) });
    if (JSON.stringify(config.notify) === JSON.stringify(this.#sinks)) return;
    this.#sinks = config.notify;
    await this.#notifier.stop();
    for (const [sink, counts] of this.#notifier.totals()) {
      const kept = this.#earlier.get(sink) ?? { sent: 0, failed: 0, dead: 0 };
      for (const key of Object.keys(kept) as AttemptStatus[]) kept[key] += counts[key];
      this.#earlier.set(sink, kept);
    }
    this.#notifier = new Notifier({ sinks: config.notify, outbox: this.#store.outbox });
    this.#notifier.start();
  }

  /** Stops delivering. */
  async stop(): Promise<void> {
    await this.#notifier.stop();
  }
}
