/**
 * The standard `process_*` and `nodejs_*` series, measured here instead of by prom-client's default
 * collector: under Bun that collector reports values that are wrong or meaningless (a 6.4 GB
 * `process_heap_bytes` that is address space reserved by the runtime, an event-loop lag minimum of
 * 9.2e9 s and NaN means, empty per-space heap figures, gauges named `_total` that promtool rejects).
 * Only series that are true under Bun are kept; the heap's total size is left out too (Bun reports it
 * below the heap used at times).
 */
import { readdirSync } from "node:fs";
import { Counter, Gauge, type Registry } from "prom-client";

/** When this process started (Unix seconds), from its uptime. */
const startTimeSeconds = Math.round(Date.now() / 1000 - process.uptime());

/**
 * Registers the process metrics on `registry`.
 *
 * @example
 * ```ts
 * registerProcessMetrics(prom); // process_resident_memory_bytes, process_cpu_seconds_total, …
 * ```
 */
export function registerProcessMetrics(registry: Registry): void {
  const registers = [registry];
  const cpu = (name: string, help: string, read: (usage: NodeJS.CpuUsage) => number) =>
    new Counter({
      name,
      help,
      registers,
      collect() {
        this.reset();
        this.inc(read(process.cpuUsage()) / 1e6);
      },
    });
  cpu("process_cpu_user_seconds_total", "User CPU time spent, in seconds.", (u) => u.user);
  cpu("process_cpu_system_seconds_total", "System CPU time spent, in seconds.", (u) => u.system);
  cpu("process_cpu_seconds_total", "User and system CPU time spent, in seconds.", (u) => u.user + u.system);
  const gauge = (name: string, help: string, read: () => number | null) =>
    new Gauge({
      name,
      help,
      registers,
      collect() {
        const value = read();
        if (value === null) this.reset();
        else this.set(value);
      },
    });
  gauge(
    "process_start_time_seconds",
    "Start time of the process since the Unix epoch, in seconds.",
    () => startTimeSeconds,
  );
  gauge("process_resident_memory_bytes", "Resident memory size, in bytes.", () => process.memoryUsage().rss);
  gauge("process_open_fds", "Open file descriptors (Linux only).", openFds);
  gauge(
    "nodejs_heap_size_total_bytes",
    "JavaScript heap size, in bytes.",
    () => process.memoryUsage().heapTotal,
  );
  gauge(
    "nodejs_heap_size_used_bytes",
    "JavaScript heap used, in bytes.",
    () => process.memoryUsage().heapUsed,
  );
  gauge(
    "nodejs_external_memory_bytes",
    "Memory held outside the JavaScript heap by JavaScript objects, in bytes.",
    () => process.memoryUsage().external,
  );
}

/** Entries of /proc/self/fd, less the one the listing itself opens; null where there is no /proc. */
function openFds(): number | null {
  try {
    return readdirSync("/proc/self/fd").length - 1;
  } catch {
    return null;
  }
}
