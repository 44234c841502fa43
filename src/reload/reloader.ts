/**
 * Config reload (SIGHUP, `POST /-/reload`): re-reads and validates the config; an invalid one keeps
 * the running config and logs every problem; a valid one is applied as a diff (`apply.ts`). Reloads
 * run one at a time. Its state feeds `faultline_config_last_reload_successful` and
 * `faultline_config_last_reload_success_timestamp_seconds`.
 */
import { ConfigError } from "../config/load.ts";
import type { FaultlineConfig } from "../config/types.ts";
import { errorMessage, logger } from "../log.ts";
import { formatFieldIssue } from "../validation/issues.ts";
import { applyConfig, type ReloadStages } from "./apply.ts";

const log = logger({ component: "reload" });

/** What a reload did. */
export type ReloadOutcome =
  | {
      ok: true;
      /** Cluster names by what happened to their connection. */
      clusters: { added: string[]; removed: string[]; changed: string[]; unchanged: string[] };
      /** Settings applied at once (`path: old → new`, or `path: changed`). */
      applied: string[];
      /** Settings that changed in the file but need a restart (the running value stays). */
      restart_required: string[];
    }
  | {
      ok: false;
      /** Why: `invalid config` (see `problems`), `shutting down`, or the error. */
      error: string;
      /** Field paths of the problems of an invalid config (the log has the messages). */
      problems: string[];
    };

/** The reload metrics' source. */
export interface ReloadState {
  /** Whether the last reload (or the start-up load) succeeded. */
  successful: boolean;
  /** When the config was last loaded successfully (start-up counts). */
  lastSuccess: Date;
}

/** Options for {@link Reloader}. */
export interface ReloaderOptions {
  /** The config running now (as loaded at start-up). */
  config: FaultlineConfig;
  /** Reads and validates the config file again; throws {@link ConfigError} when it is invalid. */
  load: () => FaultlineConfig | Promise<FaultlineConfig>;
  stages: ReloadStages;
  /** True once a graceful stop began: reloads are refused. */
  stopping: () => boolean;
  now?: () => Date;
}

/** Reloads the config on demand. */
export class Reloader {
  readonly #options: ReloaderOptions;
  #config: FaultlineConfig;
  #state: ReloadState;
  #queue: Promise<unknown> = Promise.resolve();

  constructor(options: ReloaderOptions) {
    this.#options = options;
    this.#config = options.config;
    this.#state = { successful: true, lastSuccess: (options.now ?? (() => new Date()))() };
  }

  /** The config running now. */
  get config(): FaultlineConfig {
    return this.#config;
  }

  /** For the metrics. */
  get state(): Readonly<ReloadState> {
    return this.#state;
  }

  /** Re-reads the config and applies it; `trigger` names what asked (logged). Never rejects. */
  reload(trigger: string): Promise<ReloadOutcome> {
    const run = this.#queue.then(() => this.#reload(trigger));
    this.#queue = run;
    return run;
  }

  async #reload(trigger: string): Promise<ReloadOutcome> {
    if (this.#options.stopping()) return { ok: false, error: "shutting down", problems: [] };
    log.info("reloading config", { trigger, file: this.#config.source });
    let next: FaultlineConfig;
    try {
      next = await this.#options.load();
    } catch (error) {
      this.#state = { ...this.#state, successful: false };
      if (error instanceof ConfigError) {
        for (const issue of error.issues) {
          log.error("config reload rejected: keeping the running config", {
            trigger,
            field: issue.path,
            problem: formatFieldIssue(issue),
          });
        }
        return { ok: false, error: "invalid config", problems: error.issues.map((i) => i.path || "(file)") };
      }
      log.error("config reload failed: keeping the running config", { trigger, error: errorMessage(error) });
      return { ok: false, error: errorMessage(error), problems: [] };
    }
    const diff = applyConfig(this.#options.stages, this.#config, next);
    this.#config = next;
    this.#state = { successful: true, lastSuccess: (this.#options.now ?? (() => new Date()))() };
    const names = (list: { name: string }[]) => list.map((c) => c.name);
    const clusters = {
      added: names(diff.added),
      removed: names(diff.removed),
      changed: names(diff.changed),
      unchanged: names(diff.unchanged),
    };
    log.info("config reloaded", { trigger, ...clusters, applied: diff.applied });
    if (diff.restartRequired.length > 0) {
      log.warn("config changes that need a restart were not applied", {
        trigger,
        settings: diff.restartRequired,
      });
    }
    return { ok: true, clusters, applied: diff.applied, restart_required: diff.restartRequired };
  }
}
