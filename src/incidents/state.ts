/**
 * Taking over a state_dir for `faultline run`: the directory is checked, then the lock is taken, then
 * the configured store opens (SQLite in state_dir, or PostgreSQL: see `backend.ts`; state_dir still
 * holds the workspaces and the lock) and what a previous faultline left is recovered. The lock comes before the database:
 * a second faultline must not even migrate a store another one owns.
 */
import type { FaultlineConfig } from "../config/types.ts";
import { planNotifications } from "../notify/message.ts";
import { openConfiguredStore } from "./backend.ts";
import { StateDirLock } from "./lock.ts";
import { prepareStateDir } from "./open.ts";
import { type AdoptedRun, recoverInterruptedRuns } from "./recovery.ts";
import type { IncidentStore } from "./store-api.ts";

/** A state_dir this process now owns. */
export interface OwnedState {
  store: IncidentStore;
  lock: StateDirLock;
  /** Runs a previous faultline started whose supervisors still go: the dispatcher adopts them. */
  adopted: AdoptedRun[];
}

/**
 * Checks `config.state_dir`, locks it, opens the store and recovers interrupted runs. `whileOpening` runs
 * once the lock is held (work that may overlap the store's opening). Throws when the state cannot be
 * used; nothing is left held then.
 *
 * @example
 * ```ts
 * const { store, lock, adopted } = await ownState(config);
 * ```
 */
export async function ownState(
  config: FaultlineConfig,
  whileOpening: () => void = () => {},
): Promise<OwnedState> {
  prepareStateDir(config.state_dir);
  const lock = StateDirLock.acquire(config.state_dir);
  let store: IncidentStore | undefined;
  try {
    whileOpening();
    // The WAL is copied into the file by a thread of its own, not inside a commit on the event loop.
    // Replicas (PostgreSQL) store only the clusters they hold (src/incidents/pg/fence.ts).
    // The planner from the start: what the journal holds from a previous run is built as the store
    // opens, and each incident it opens gets its messages then (the reloads keep it up to date after).
    store = await openConfiguredStore(config, {
      checkpointInThread: true,
      ownedClustersOnly: true,
      notify: planNotifications(config),
      buildJournal: true,
    });
    return { store, lock, adopted: await recoverInterruptedRuns(store, config.agent) };
  } catch (error) {
    await store?.close();
    lock.release();
    throw error;
  }
}
