import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { existsSync, mkdtempSync, readFileSync, realpathSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { truncationMarker } from "../../src/agent/capped-log.ts";
import { type AgentResult, RESULT_FILE } from "../../src/agent/outcome.ts";
import { type AgentJob, type AgentOutcome, runAgent } from "../../src/agent/runner.ts";
import { createWorkspace } from "../../src/agent/workspace.ts";
import { setLogSink } from "../../src/log.ts";
import { makeAgentConfig, sampleFault } from "../helpers/fault.ts";

let dir: string;
let stateDir: string;
let logLines: Record<string, unknown>[];
let restoreSink: (line: string) => void;

beforeEach(() => {
  dir = mkdtempSync(join(realpathSync(tmpdir()), "faultline-runner-"));
  stateDir = join(dir, "state");
  logLines = [];
  restoreSink = setLogSink((line) => logLines.push(JSON.parse(line)));
});

afterEach(() => {
  setLogSink(restoreSink);
  rmSync(dir, { recursive: true, force: true });
});

const faultEvent = sampleFault;

function job(id: string, cluster = "prod-eu"): AgentJob {
  return {
    incident_id: id,
    cluster: { name: cluster, kubeconfig: join(dir, `${cluster}.kubeconfig`) },
    event: faultEvent(cluster),
  };
}

/** Writes an executable `#!/bin/sh` script into the temp dir and returns its path. */
function script(name: string, body: string): string {
  const path = join(dir, name);
  writeFileSync(path, `#!/bin/sh\n${body}\n`, { mode: 0o755 });
  return path;
}

const agentConfig = makeAgentConfig;

function readResult(outcome: AgentOutcome): AgentResult {
  return JSON.parse(readFileSync(join(outcome.workspace, RESULT_FILE), "utf8"));
}

function agentLog(outcome: AgentOutcome): string {
  return readFileSync(join(outcome.workspace, "agent.log"), "utf8");
}

/** Alive and not a zombie (an orphan's reaper may be slow, or absent in a container). */
function isRunning(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const state = stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3);
    return state !== "Z" && state !== "X";
  } catch {
    // No /proc (not Linux) or the process is gone: ask the kernel.
  }
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function waitUntilGone(pid: number, ms = 2000): Promise<boolean> {
  const deadline = performance.now() + ms;
  while (performance.now() < deadline) {
    if (!isRunning(pid)) return true;
    await Bun.sleep(20);
  }
  return !isRunning(pid);
}

function pidFrom(path: string): number {
  return Number(readFileSync(path, "utf8").trim());
}

function logged(msg: string): Record<string, unknown>[] {
  return logLines.filter((line) => line.msg === msg);
}

describe("workspace", () => {
  test("createWorkspace makes the directory and writes event.json", async () => {
    const event = faultEvent();
    const workspace = await createWorkspace(join(dir, "nested", "state"), "inc-1", event);
    expect(workspace).toBe(join(dir, "nested", "state", "incidents", "inc-1"));
    expect(JSON.parse(readFileSync(join(workspace, "event.json"), "utf8"))).toEqual(event);
    await createWorkspace(join(dir, "nested", "state"), "inc-1", event); // repeatable
  });

  test("event.json is compact: one line, however deep the payload (it was pretty-printed, 19,000 levels → 722 MB)", async () => {
    let raw: unknown = "leaf";
    for (let i = 0; i < 60; i++) raw = { a: raw };
    const event = { ...faultEvent(), raw };
    const workspace = await createWorkspace(stateDir, "inc-compact", event);
    const text = readFileSync(join(workspace, "event.json"), "utf8");
    expect(text).toBe(`${JSON.stringify(event)}\n`);
    expect(text.split("\n")).toHaveLength(2);
  });

  test("createWorkspace refuses ids that are not one path segment", async () => {
    for (const bad of ["..", ".", "a/b", "", "../x"]) {
      await expect(createWorkspace(stateDir, bad, faultEvent())).rejects.toThrow("unsafe incident id");
    }
  });
});

describe("runAgent", () => {
  test("runs in the workspace with the cluster's env, the event on stdin, output in agent.log", async () => {
    process.env.FAULTLINE_TEST_INHERITED = "inherited";
    const agent = script(
      "agent.sh",
      [
        'printf "%s\\n" "$KUBECONFIG" "$FAULTLINE_CLUSTER" "$FAULTLINE_INCIDENT_ID" "$FAULTLINE_WORKSPACE" \\',
        '  "$(pwd -P)" "$FAULTLINE_TEST_INHERITED" "$1" > seen.txt',
        "cat > stdin.json",
        "echo to-stdout",
        "echo to-stderr >&2",
      ].join("\n"),
    );
    const outcome = await runAgent(job("inc-env"), {
      agent: agentConfig([agent, "arg with spaces"]),
      stateDir,
    });
    delete process.env.FAULTLINE_TEST_INHERITED;

    const workspace = join(stateDir, "incidents", "inc-env");
    expect(outcome).toMatchObject({ incident_id: "inc-env", cluster: "prod-eu", workspace, exit_code: 0 });
    expect(outcome.error).toBeNull();
    const seen = readFileSync(join(workspace, "seen.txt"), "utf8").split("\n");
    expect(seen.slice(0, 7)).toEqual([
      join(dir, "prod-eu.kubeconfig"),
      "prod-eu",
      "inc-env",
      workspace,
      workspace,
      "inherited",
      "arg with spaces",
    ]);
    expect(readFileSync(join(workspace, "stdin.json"), "utf8")).toBe(
      readFileSync(join(workspace, "event.json"), "utf8"),
    );
    // Two pipes: each one's bytes in order, the two interleaved in the order they were read.
    expect(agentLog(outcome).split("\n").sort()).toEqual(["", "to-stderr", "to-stdout"]);
  });

  test("agent.log is capped at agent.max_log_bytes with a marker; the agent is not blocked by the cap", async () => {
    // ~8 MB of output against a 64 KiB cap; a retried run appends nothing once the log is full.
    const agent = script("loud.sh", "head -c 8000000 /dev/zero | tr '\\0' x; echo done >&2; exit 0");
    const config = agentConfig([agent], { max_log_bytes: 64 * 1024 });
    const first = await runAgent(job("inc-loud"), { agent: config, stateDir });
    expect(first.exit_code).toBe(0);
    const text = agentLog(first);
    expect(text.startsWith("x".repeat(1000))).toBe(true);
    expect(text).toEndWith(truncationMarker(64 * 1024));
    expect(Buffer.byteLength(text)).toBe(64 * 1024 + Buffer.byteLength(truncationMarker(64 * 1024)));
    const again = await runAgent(job("inc-loud"), { agent: config, stateDir });
    expect(again.exit_code).toBe(0);
    expect(agentLog(again)).toBe(text);
  });

  test("result.json records the exit code, timing and a log line with the cluster", async () => {
    const agent = script("fail.sh", "echo failing; exit 3");
    const outcome = await runAgent(job("inc-fail", "staging"), { agent: agentConfig([agent]), stateDir });

    expect(outcome).toMatchObject({
      exit_code: 3,
      signal: null,
      timed_out: false,
      interrupted: false,
      error: null,
    });
    const { workspace, ...result } = outcome;
    expect(readResult(outcome)).toEqual(result);
    expect(workspace).toBe(join(stateDir, "incidents", "inc-fail"));
    expect(Date.parse(result.finished_at) >= Date.parse(result.started_at)).toBe(true);
    expect(result.duration_ms).toBeGreaterThanOrEqual(0);

    const [started] = logged("agent started");
    expect(started).toMatchObject({ level: "info", cluster: "staging", incident_id: "inc-fail", workspace });
    expect(started?.pid).toBeNumber();
    const [finished] = logged("agent finished");
    expect(finished).toMatchObject({
      level: "warn",
      cluster: "staging",
      incident_id: "inc-fail",
      exit_code: 3,
      signal: null,
      timed_out: false,
      duration_ms: result.duration_ms,
    });
  });

  test("a successful run logs at info", async () => {
    const outcome = await runAgent(job("inc-ok"), {
      agent: agentConfig([script("ok.sh", "exit 0")]),
      stateDir,
    });
    expect(outcome.exit_code).toBe(0);
    expect(logged("agent finished")[0]).toMatchObject({ level: "info", cluster: "prod-eu", exit_code: 0 });
  });

  test("a timeout kills the agent's whole process group", async () => {
    const agent = script("stuck.sh", "sleep 30 &\necho $! > child.pid\nwait");
    const outcome = await runAgent(job("inc-stuck"), {
      agent: agentConfig([agent], { timeout_seconds: 0.3 }),
      stateDir,
      killGraceMs: 200,
    });

    expect(outcome).toMatchObject({
      timed_out: true,
      interrupted: false,
      exit_code: null,
      signal: "SIGTERM",
    });
    expect(outcome.duration_ms).toBeGreaterThanOrEqual(280);
    expect(outcome.duration_ms).toBeLessThan(3000);
    expect(readResult(outcome)).toMatchObject({ timed_out: true, signal: "SIGTERM", exit_code: null });
    expect(await waitUntilGone(pidFrom(join(outcome.workspace, "child.pid")))).toBe(true);
    expect(logged("agent timed out, terminating")[0]).toMatchObject({ level: "warn", cluster: "prod-eu" });
  });

  test("an agent that ignores SIGTERM is SIGKILLed after the grace", async () => {
    const agent = script(
      "stubborn.sh",
      "trap 'echo got TERM' TERM\necho $$ > agent.pid\nwhile :; do sleep 0.05; done",
    );
    const outcome = await runAgent(job("inc-stubborn"), {
      agent: agentConfig([agent], { timeout_seconds: 0.3 }),
      stateDir,
      killGraceMs: 300,
    });

    expect(outcome).toMatchObject({ timed_out: true, exit_code: null, signal: "SIGKILL" });
    expect(outcome.duration_ms).toBeGreaterThanOrEqual(580);
    expect(outcome.duration_ms).toBeLessThan(3000);
    expect(agentLog(outcome)).toContain("got TERM");
    expect(await waitUntilGone(pidFrom(join(outcome.workspace, "agent.pid")))).toBe(true);
    expect(logged("agent still running after SIGTERM, killing")).toHaveLength(1);
  });

  test("processes an agent leaves behind when it exits are killed", async () => {
    const agent = script("leaky.sh", "sleep 30 &\necho $! > child.pid\nexit 0");
    const outcome = await runAgent(job("inc-leaky"), { agent: agentConfig([agent]), stateDir });

    expect(outcome.exit_code).toBe(0);
    expect(await waitUntilGone(pidFrom(join(outcome.workspace, "child.pid")))).toBe(true);
    expect(logged("agent left processes behind, killed them")).toHaveLength(1);
  });

  test("a missing program is an outcome with an error, not a rejection", async () => {
    const outcome = await runAgent(job("inc-missing"), {
      agent: agentConfig([join(dir, "no-such-agent")]),
      stateDir,
    });

    expect(outcome).toMatchObject({ exit_code: null, signal: null, timed_out: false });
    expect(outcome.error).toContain("cannot start agent");
    expect(outcome.error).toContain("ENOENT");
    expect(readResult(outcome).error).toBe(outcome.error);
    expect(agentLog(outcome)).toContain("cannot start agent");
    expect(logged("agent failed to start")[0]).toMatchObject({ level: "error", cluster: "prod-eu" });
    expect(logged("agent started")).toHaveLength(0);
  });

  test("an unusable incident id is an outcome with an error", async () => {
    const outcome = await runAgent(job("../escape"), { agent: agentConfig(["/bin/true"]), stateDir });
    expect(outcome.error).toContain("unsafe incident id");
    expect(outcome.workspace).toBe("");
    expect(existsSync(join(dir, "escape"))).toBe(false);
  });

  test("aborting ends the agent and marks it interrupted", async () => {
    const agent = script("long.sh", "exec sleep 30");
    const abort = new AbortController();
    const running = runAgent(job("inc-abort"), {
      agent: agentConfig([agent]),
      stateDir,
      signal: abort.signal,
    });
    await Bun.sleep(100);
    abort.abort();
    const outcome = await running;
    expect(outcome).toMatchObject({ interrupted: true, timed_out: false, signal: "SIGTERM" });
    expect(outcome.duration_ms).toBeLessThan(3000);
  });

  test("an already-aborted run never starts the agent", async () => {
    const agent = script("marker.sh", "touch ran");
    const outcome = await runAgent(job("inc-pre-abort"), {
      agent: agentConfig([agent]),
      stateDir,
      signal: AbortSignal.abort(),
    });
    expect(outcome).toMatchObject({ interrupted: true, exit_code: null, error: null });
    expect(existsSync(join(outcome.workspace, "ran"))).toBe(false);
    expect(readResult(outcome).interrupted).toBe(true);
  });

  test("the agent gets only the passed-through variables of faultline's environment, plus its own", async () => {
    process.env.AWS_SECRET_ACCESS_KEY = "planted-secret";
    process.env.FAULTLINE_TEST_PASSED = "passed";
    process.env.TEAM_TOKEN_A = "team-a";
    const agent = script("env.sh", "env > env.txt");
    try {
      const plain = await runAgent(job("inc-env-default"), { agent: agentConfig([agent]), stateDir });
      const env = readFileSync(join(plain.workspace, "env.txt"), "utf8");
      expect(env).not.toContain("planted-secret");
      expect(env).not.toContain("TEAM_TOKEN_A");
      expect(env).toContain(`PATH=${process.env.PATH}\n`);
      expect(env).toContain("FAULTLINE_TEST_PASSED=passed\n");
      expect(env).toContain(`KUBECONFIG=${join(dir, "prod-eu.kubeconfig")}\n`);
      expect(env).toContain("FAULTLINE_INCIDENT_ID=inc-env-default\n");

      const chosen = await runAgent(job("inc-env-chosen"), {
        agent: agentConfig([agent], { env_passthrough: ["PATH", "TEAM_TOKEN_*"] }),
        stateDir,
      });
      const chosenEnv = readFileSync(join(chosen.workspace, "env.txt"), "utf8");
      expect(chosenEnv).toContain("TEAM_TOKEN_A=team-a\n");
      expect(chosenEnv).not.toContain("planted-secret");
      expect(chosenEnv).not.toContain(`HOME=`);
    } finally {
      delete process.env.AWS_SECRET_ACCESS_KEY;
      delete process.env.FAULTLINE_TEST_PASSED;
      delete process.env.TEAM_TOKEN_A;
    }
  });

  test("a setsid escapee is ended with its agent: after a timeout, after a stop, and after the agent exits", async () => {
    // `setsid` puts the child in a session of its own: out of reach of the agent's process group.
    const agent = script("escape.sh", 'setsid sleep 1000 &\necho $! > escapee.pid\nsleep "$1" || sleep 30');
    const timedOut = await runAgent(job("inc-escape-timeout"), {
      agent: agentConfig([agent], { timeout_seconds: 0.5 }),
      stateDir,
      killGraceMs: 200,
    });
    expect(timedOut.timed_out).toBe(true);
    expect(await waitUntilGone(pidFrom(join(timedOut.workspace, "escapee.pid")))).toBe(true);

    const abort = new AbortController();
    const running = runAgent(job("inc-escape-stop"), {
      agent: agentConfig([agent]),
      stateDir,
      signal: abort.signal,
    });
    const escapeePid = join(stateDir, "incidents", "inc-escape-stop", "escapee.pid");
    const deadline = performance.now() + 5000;
    while (!existsSync(escapeePid) && performance.now() < deadline) await Bun.sleep(20);
    abort.abort();
    const stopped = await running;
    expect(stopped.interrupted).toBe(true);
    expect(await waitUntilGone(pidFrom(escapeePid))).toBe(true);

    const exited = await runAgent(job("inc-escape-exit"), { agent: agentConfig([agent, "0"]), stateDir });
    expect(exited.exit_code).toBe(0);
    expect(await waitUntilGone(pidFrom(join(exited.workspace, "escapee.pid")))).toBe(true);
  });
});
