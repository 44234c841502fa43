/**
 * The dispatch stage as the running app holds it: a {@link Dispatcher} once an agent is configured
 * (at start-up or by a later config reload), and whether one is configured now (route: `no_agent`).
 */
import type { AgentConfig } from "../config/types.ts";
import { Dispatcher, type DispatcherOptions } from "./dispatcher.ts";

/** Holds the dispatcher, creating it the first time an agent is configured. */
export class Triage {
  readonly #options: Omit<DispatcherOptions, "agent">;
  #dispatcher: Dispatcher | null = null;
  #configured = false;
  #fenced = false;

  constructor(options: Omit<DispatcherOptions, "agent">, agent: AgentConfig | null) {
    this.#options = options;
    this.setAgent(agent);
  }

  /** The dispatcher, or null while no agent has ever been configured. */
  get dispatcher(): Dispatcher | null {
    return this.#dispatcher;
  }

  /** Whether an agent is configured now. */
  get configured(): boolean {
    return this.#configured;
  }

  /** Agents running now. */
  get running(): number {
    return this.#dispatcher?.running ?? 0;
  }

  /** Agents started from now on use `agent`; null starts none (queued incidents wait). */
  setAgent(agent: AgentConfig | null): void {
    this.#configured = agent !== null;
    if (this.#dispatcher) this.#dispatcher.setAgent(agent);
    else if (agent) {
      this.#dispatcher = new Dispatcher({ ...this.#options, agent });
      if (this.#fenced) void this.#dispatcher.fence();
    }
  }

  /** The runs of the agents running now. */
  get runIds(): number[] {
    return this.#dispatcher?.runIds ?? [];
  }

  /** Starts agents for queued incidents while slots are free (in the background; see {@link Dispatcher.kick}). */
  kick(): void {
    void this.#dispatcher?.kick();
  }

  /** See {@link Dispatcher.fence}. */
  async fence(): Promise<void> {
    this.#fenced = true;
    await this.#dispatcher?.fence();
  }

  /** See {@link Dispatcher.unfence}. */
  unfence(): void {
    this.#fenced = false;
    this.#dispatcher?.unfence();
  }

  /** See {@link Dispatcher.stop}. */
  async stop(graceMs: number): Promise<void> {
    await this.#dispatcher?.stop(graceMs);
  }
}
