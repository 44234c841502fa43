/**
 * The ready-made agent wrappers (examples/agents/claude-code.sh, codex.sh), run as real processes
 * the way faultline runs them (cwd = a workspace holding event.json, stdin = the event, KUBECONFIG
 * set), against a fake `claude` / `codex` first on PATH that records its argv, stdin and environment
 * and prints a canned answer.
 */
import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  realpathSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

const AGENTS = resolve(import.meta.dir, "../../examples/agents");
const CLAUDE_WRAPPER = join(AGENTS, "claude-code.sh");
const CODEX_WRAPPER = join(AGENTS, "codex.sh");

/**
 * The fake CLI: argv NUL-separated, stdin, cwd and a few variables into $FAKE_RECORD; the canned
 * answer ($FAKE_ANSWER) to stdout, and for codex also to the file after `-o`; exits $FAKE_EXIT.
 */
const FAKE_CLI = `#!/bin/sh
rec=$FAKE_RECORD
printf '%s\\0' "$@" > "$rec/argv"
cat > "$rec/stdin"
pwd > "$rec/cwd"
printf '%s' "\${KUBECONFIG-unset}" > "$rec/kubeconfig"
printf '%s' "\${FAULTLINE_INCIDENT_ID-unset}" > "$rec/incident"
out=
prev=
for arg in "$@"; do
  if [ "$prev" = "-o" ]; then out=$arg; fi
  prev=$arg
done
if [ -n "$out" ]; then cat "$FAKE_ANSWER" > "$out"; fi
cat "$FAKE_ANSWER"
exit "\${FAKE_EXIT:-0}"
`;

let dir: string;
let bin: string;
let rec: string;
let ws: string;
let kubeconfig: string;

interface Event {
  cluster: string;
  labels: Record<string, string>;
  fault_id: string;
  fault_type: string;
  severity: string;
  resource: { apiVersion: string; kind: string; name: string; namespace: string | null; uid: null };
  context: string;
  timestamp: string;
  received_at: string;
  raw: unknown;
}

function makeEvent(over: Partial<Event> = {}): Event {
  return {
    cluster: "prod-east",
    labels: { region: "us-east" },
    fault_id: "9a01b317b5727707",
    fault_type: "CrashLoop",
    severity: "critical",
    resource: { apiVersion: "v1", kind: "Pod", name: "checkout-7d9f", namespace: "shop", uid: null },
    context: "Back-off restarting failed container",
    timestamp: "2026-11-25T03:15:05Z",
    received_at: "2026-11-25T03:15:05.821Z",
    raw: { reason: "BackOff" },
    ...over,
  };
}

interface Run {
  code: number;
  stderr: string;
  argv: string[];
  prompt: string;
  kubeconfig: string;
  cwd: string;
  report: string | null;
  summary: unknown;
}

async function runWrapper(
  wrapper: string,
  opts: {
    event?: Event;
    answer: string;
    exit?: number;
    env?: Record<string, string>;
    args?: string[];
    path?: string;
  },
): Promise<Run> {
  const event = JSON.stringify(opts.event ?? makeEvent());
  writeFileSync(join(ws, "event.json"), event);
  const answerFile = join(dir, "answer");
  writeFileSync(answerFile, opts.answer);
  const proc = Bun.spawn([wrapper, ...(opts.args ?? [])], {
    cwd: ws,
    stdin: new TextEncoder().encode(event),
    stdout: "pipe",
    stderr: "pipe",
    env: {
      PATH: opts.path ?? `${bin}:${process.env.PATH ?? "/usr/bin:/bin"}`,
      HOME: dir,
      KUBECONFIG: kubeconfig,
      FAULTLINE_CLUSTER: "prod-east",
      FAULTLINE_INCIDENT_ID: "inc-0001",
      FAULTLINE_WORKSPACE: ws,
      FAKE_RECORD: rec,
      FAKE_ANSWER: answerFile,
      FAKE_EXIT: String(opts.exit ?? 0),
      ...opts.env,
    },
  });
  const [code, stderr] = await Promise.all([proc.exited, new Response(proc.stderr).text()]);
  const read = (name: string) => (existsSync(join(rec, name)) ? readFileSync(join(rec, name), "utf8") : "");
  const reportPath = join(ws, "report.md");
  const summaryPath = join(ws, "summary.json");
  return {
    code,
    stderr,
    argv: read("argv").split("\0").slice(0, -1),
    prompt: read("stdin"),
    kubeconfig: read("kubeconfig"),
    cwd: read("cwd").trim(),
    report: existsSync(reportPath) ? readFileSync(reportPath, "utf8") : null,
    summary: existsSync(summaryPath) ? JSON.parse(readFileSync(summaryPath, "utf8")) : null,
  };
}

/** The value following `flag` in argv. */
function flagValue(argv: string[], flag: string): string | undefined {
  const i = argv.indexOf(flag);
  return i === -1 ? undefined : argv[i + 1];
}

const SUMMARY = {
  summary: "checkout crashes on start: its config map lost DB_URL",
  root_cause: "ConfigMap shop/checkout has no DB_URL key",
  confidence: "high",
  actions: ["restore DB_URL in ConfigMap shop/checkout", "roll the deployment"],
};

const MARKDOWN_ANSWER = `## Triage

\`kubectl logs checkout-7d9f -n shop --previous\` shows \`DB_URL not set\`.

\`\`\`json
${JSON.stringify(SUMMARY, null, 2)}
\`\`\`
`;

beforeEach(() => {
  dir = mkdtempSync(join(realpathSync(tmpdir()), "faultline-wrappers-"));
  bin = join(dir, "bin");
  rec = join(dir, "rec");
  ws = join(dir, "incidents", "inc-0001");
  for (const d of [bin, rec, ws]) mkdirSync(d, { recursive: true });
  writeFileSync(join(bin, "claude"), FAKE_CLI, { mode: 0o755 });
  writeFileSync(join(bin, "codex"), FAKE_CLI, { mode: 0o755 });
  kubeconfig = join(dir, "prod-east.kubeconfig");
  writeFileSync(kubeconfig, "apiVersion: v1\nkind: Config\n");
});

afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

/** What every triage prompt must carry, whichever CLI gets it. */
function expectTriagePrompt(prompt: string): void {
  expect(prompt).toContain("read-only `kubectl`");
  expect(prompt).toContain("KUBECONFIG");
  expect(prompt).toContain("- Cluster: prod-east");
  expect(prompt).toContain("- Resource: Pod shop/checkout-7d9f");
  expect(prompt).toContain("- Fault type: CrashLoop");
  expect(prompt).toContain("- Severity: critical");
  expect(prompt).toContain("- Timestamp: 2026-11-25T03:15:05Z");
  expect(prompt).toContain("Back-off restarting failed container");
  expect(prompt).toContain("- Incident: inc-0001");
  // The event verbatim, too.
  expect(prompt).toContain(JSON.stringify(makeEvent()));
}

describe("claude-code.sh", () => {
  test("runs claude -p with the triage prompt on stdin, read-only tools, and the cluster's KUBECONFIG", async () => {
    const run = await runWrapper(CLAUDE_WRAPPER, { answer: MARKDOWN_ANSWER });
    expect(run.stderr).toBe("");
    expect(run.code).toBe(0);

    expectTriagePrompt(run.prompt);
    expect(readFileSync(join(ws, "prompt.md"), "utf8")).toBe(run.prompt);
    expect(run.kubeconfig).toBe(kubeconfig);
    expect(run.cwd).toBe(ws);

    expect(run.argv[0]).toBe("-p");
    expect(flagValue(run.argv, "--output-format")).toBe("text");
    expect(flagValue(run.argv, "--permission-mode")).toBe("dontAsk");
    const tools = (flagValue(run.argv, "--allowedTools") ?? "").split(",");
    expect(tools).toContain("Bash(kubectl get:*)");
    expect(tools).toContain("Bash(kubectl describe:*)");
    expect(tools).toContain("Bash(kubectl logs:*)");
    for (const tool of tools) expect(tool).toMatch(/^Bash\(kubectl [a-z-]+:\*\)$/);
    for (const verb of ["delete", "apply", "edit", "patch", "scale", "exec", "create", "rollout"]) {
      expect(tools.join(",")).not.toContain(verb);
    }
    expect(flagValue(run.argv, "--append-system-prompt")).toContain("read-only kubectl");
    // No event data on the command line: it all goes through stdin.
    expect(run.argv.join(" ")).not.toContain("checkout");

    expect(run.report).toBe(MARKDOWN_ANSWER);
    expect(run.summary).toEqual(SUMMARY);
    // Only the contract's files are left behind.
    expect(existsSync(join(ws, "event.in.json"))).toBe(false);
    expect(existsSync(join(ws, "summary.candidate.json"))).toBe(false);
  });

  test("extra arguments go to claude; FAULTLINE_PROMPT_FILE replaces the template", async () => {
    const template = join(dir, "my-prompt.md");
    writeFileSync(template, "Custom triage instructions.\n");
    const run = await runWrapper(CLAUDE_WRAPPER, {
      answer: MARKDOWN_ANSWER,
      args: ["--model", "sonnet"],
      env: { FAULTLINE_PROMPT_FILE: template },
    });
    expect(run.code).toBe(0);
    expect(flagValue(run.argv, "--model")).toBe("sonnet");
    expect(run.prompt.startsWith("Custom triage instructions.\n")).toBe(true);
    expect(run.prompt).toContain("- Resource: Pod shop/checkout-7d9f");
  });

  test("a missing prompt file: exit 2 before claude runs", async () => {
    const run = await runWrapper(CLAUDE_WRAPPER, {
      answer: MARKDOWN_ANSWER,
      env: { FAULTLINE_PROMPT_FILE: join(dir, "nope.md") },
    });
    expect(run.code).toBe(2);
    expect(run.stderr).toContain("prompt file not readable");
    expect(run.argv).toEqual([]);
  });

  test("the summary is normalised: nulls and an empty root cause dropped, confidence lower-cased", async () => {
    const answer = `Report.\n\n\`\`\`json\n{"summary": "s", "root_cause": "", "confidence": "High", "actions": null, "extra": 1}\n\`\`\`\n`;
    const run = await runWrapper(CLAUDE_WRAPPER, { answer });
    expect(run.code).toBe(0);
    expect(run.summary).toEqual({ summary: "s", confidence: "high" });
  });

  test("the last json block counts", async () => {
    const answer = `\`\`\`json\n{"summary": "first"}\n\`\`\`\n\nThen:\n\n\`\`\`json\n{"summary": "second"}\n\`\`\`\n`;
    const run = await runWrapper(CLAUDE_WRAPPER, { answer });
    expect(run.summary).toEqual({ summary: "second" });
  });

  for (const [name, answer] of [
    ["no json block", "I could not reach the cluster.\n"],
    ["a block that is not JSON", "```json\n{ summary: nope\n```\n"],
    ["no summary", '```json\n{"root_cause": "x"}\n```\n'],
    ["a bad confidence", '```json\n{"summary": "s", "confidence": "very"}\n```\n'],
    ["actions not strings", '```json\n{"summary": "s", "actions": [1, 2]}\n```\n'],
    ["an array", '```json\n["summary"]\n```\n'],
  ] as const) {
    test(`an answer with ${name}: report.md, no summary.json, exit 0`, async () => {
      const run = await runWrapper(CLAUDE_WRAPPER, { answer });
      expect(run.code).toBe(0);
      expect(run.report).toBe(answer);
      expect(run.summary).toBeNull();
      expect(run.stderr).toContain("summary");
    });
  }

  test("claude fails (exit 3): the wrapper exits 3, keeps the answer, writes no summary", async () => {
    writeFileSync(join(ws, "summary.json"), '{"summary": "from an earlier run"}');
    const run = await runWrapper(CLAUDE_WRAPPER, { answer: MARKDOWN_ANSWER, exit: 3 });
    expect(run.code).toBe(3);
    expect(run.summary).toBeNull();
    expect(run.report).toBe(MARKDOWN_ANSWER);
    expect(run.stderr).toContain("status 3");
  });

  test("claude fails with no output: no report.md either", async () => {
    const run = await runWrapper(CLAUDE_WRAPPER, { answer: "", exit: 3 });
    expect(run.code).toBe(3);
    expect(run.report).toBeNull();
    expect(run.summary).toBeNull();
  });

  test("the event comes from event.json when stdin is empty", async () => {
    writeFileSync(join(ws, "event.json"), JSON.stringify(makeEvent()));
    writeFileSync(join(dir, "answer"), MARKDOWN_ANSWER);
    const proc = Bun.spawn([CLAUDE_WRAPPER], {
      cwd: ws,
      stdin: new Uint8Array(0),
      stderr: "pipe",
      env: {
        PATH: `${bin}:${process.env.PATH ?? "/usr/bin:/bin"}`,
        KUBECONFIG: kubeconfig,
        FAULTLINE_INCIDENT_ID: "inc-0001",
        FAKE_RECORD: rec,
        FAKE_ANSWER: join(dir, "answer"),
      },
    });
    expect(await proc.exited).toBe(0);
    expectTriagePrompt(readFileSync(join(rec, "stdin"), "utf8"));
  });

  test("without jq: the raw event in the prompt, report.md, no summary.json", async () => {
    // A PATH with only the tools the wrapper needs, and no jq.
    const tools = join(dir, "tools");
    mkdirSync(tools);
    for (const tool of ["sh", "head", "cat", "rm", "mv", "cp", "dirname", "awk", "pwd"]) {
      const found = Bun.which(tool);
      if (found) symlinkSync(found, join(tools, tool));
    }
    symlinkSync(join(bin, "claude"), join(tools, "claude"));
    const run = await runWrapper(CLAUDE_WRAPPER, { answer: MARKDOWN_ANSWER, path: tools });
    expect(run.code).toBe(0);
    expect(run.prompt).toContain("read-only `kubectl`");
    expect(run.prompt).toContain("- Cluster: prod-east");
    expect(run.prompt).toContain(JSON.stringify(makeEvent()));
    expect(run.report).toBe(MARKDOWN_ANSWER);
    expect(run.summary).toBeNull();
    expect(run.stderr).toContain("jq not found");
  });
});

describe("codex.sh", () => {
  const CODEX_ANSWER = JSON.stringify({ report: "## Triage\n\nDB_URL is missing.\n", ...SUMMARY });

  test("runs codex exec with the prompt on stdin, a sandbox with network, the schema, and the KUBECONFIG", async () => {
    const run = await runWrapper(CODEX_WRAPPER, { answer: CODEX_ANSWER });
    expect(run.stderr).toBe("");
    expect(run.code).toBe(0);

    expectTriagePrompt(run.prompt);
    expect(run.prompt).toContain("matching the output schema");
    expect(run.kubeconfig).toBe(kubeconfig);
    expect(run.cwd).toBe(ws);

    expect(run.argv[0]).toBe("exec");
    expect(run.argv.at(-1)).toBe("-");
    expect(run.argv).toContain("--skip-git-repo-check");
    expect(run.argv).toContain("--ephemeral");
    expect(flagValue(run.argv, "--sandbox")).toBe("workspace-write");
    expect(flagValue(run.argv, "-c")).toBe("sandbox_workspace_write.network_access=true");
    expect(flagValue(run.argv, "--output-schema")).toBe(join(AGENTS, "codex-output.schema.json"));
    expect(flagValue(run.argv, "-o")).toBe("answer.json");
    expect(run.argv).not.toContain("--dangerously-bypass-approvals-and-sandbox");
    expect(run.argv.join(" ")).not.toContain("checkout");

    expect(run.report).toBe("## Triage\n\nDB_URL is missing.\n");
    expect(run.summary).toEqual(SUMMARY);
    expect(existsSync(join(ws, "answer.json"))).toBe(false);
  });

  test("the output schema follows the strict structured-output rules and covers the summary", () => {
    const schema = JSON.parse(readFileSync(join(AGENTS, "codex-output.schema.json"), "utf8"));
    expect(schema.additionalProperties).toBe(false);
    expect([...schema.required].sort()).toEqual(Object.keys(schema.properties).sort());
    expect(Object.keys(schema.properties).sort()).toEqual([
      "actions",
      "confidence",
      "report",
      "root_cause",
      "summary",
    ]);
    expect(schema.properties.confidence.enum).toEqual(["low", "medium", "high"]);
  });

  test("FAULTLINE_CODEX_SANDBOX=read-only: codex's read-only sandbox, no network override; extra args pass", async () => {
    const run = await runWrapper(CODEX_WRAPPER, {
      answer: CODEX_ANSWER,
      env: { FAULTLINE_CODEX_SANDBOX: "read-only" },
      args: ["--model", "gpt-5"],
    });
    expect(run.code).toBe(0);
    expect(flagValue(run.argv, "--sandbox")).toBe("read-only");
    expect(run.argv).not.toContain("-c");
    expect(flagValue(run.argv, "--model")).toBe("gpt-5");
    expect(run.argv.at(-1)).toBe("-");
  });

  test("an answer that is not the schema's JSON: it becomes report.md; a json block still gives the summary", async () => {
    const run = await runWrapper(CODEX_WRAPPER, { answer: MARKDOWN_ANSWER });
    expect(run.code).toBe(0);
    expect(run.report).toBe(MARKDOWN_ANSWER);
    expect(run.summary).toEqual(SUMMARY);
  });

  test("an answer whose summary does not fit: report.md, no summary.json", async () => {
    const answer = JSON.stringify({
      report: "r",
      summary: "",
      root_cause: "",
      confidence: "low",
      actions: [],
    });
    const run = await runWrapper(CODEX_WRAPPER, { answer });
    expect(run.code).toBe(0);
    expect(run.report).toBe("r");
    expect(run.summary).toBeNull();
    expect(run.stderr).toContain("summary must be a non-empty string");
  });

  test("codex fails (exit 3): the wrapper exits 3 and writes no summary", async () => {
    const run = await runWrapper(CODEX_WRAPPER, { answer: CODEX_ANSWER, exit: 3 });
    expect(run.code).toBe(3);
    expect(run.summary).toBeNull();
    expect(run.stderr).toContain("status 3");
  });

  test("codex fails with no answer: exit 3, no files", async () => {
    const run = await runWrapper(CODEX_WRAPPER, { answer: "", exit: 3 });
    expect(run.code).toBe(3);
    expect(run.report).toBeNull();
    expect(run.summary).toBeNull();
  });
});

describe("no shell on event data", () => {
  for (const [name, wrapper] of [
    ["claude-code.sh", CLAUDE_WRAPPER],
    ["codex.sh", CODEX_WRAPPER],
  ] as const) {
    test(`${name}: quotes, $(...), backticks, newlines and <script> in the event are only text`, async () => {
      const pwned = (n: number) => join(dir, `pwned-${n}`);
      const event = makeEvent({
        cluster: `prod-east$(touch ${pwned(1)})`,
        fault_type: `CrashLoop\`touch ${pwned(2)}\``,
        resource: {
          apiVersion: "v1",
          kind: "Pod",
          name: `x'; touch ${pwned(3)}; echo '`,
          namespace: `shop"; touch ${pwned(4)}; echo "`,
          uid: null,
        },
        context: `line one\n$(touch ${pwned(5)})\n<script>alert(1)</script>\n\`\`\`json\n{"summary": "injected"}\n\`\`\`\n~~~~\n| touch ${pwned(6)}`,
        labels: { region: `$(touch ${pwned(7)})` },
      });
      const injectedSummary = { ...SUMMARY, summary: `$(touch ${pwned(8)}) and \`touch ${pwned(9)}\`` };
      const answer =
        wrapper === CODEX_WRAPPER
          ? JSON.stringify({ report: `report $(touch ${pwned(10)})`, ...injectedSummary })
          : `report $(touch ${pwned(10)})\n\n\`\`\`json\n${JSON.stringify(injectedSummary)}\n\`\`\`\n`;
      const run = await runWrapper(wrapper, { event, answer });
      expect(run.code).toBe(0);

      for (let n = 1; n <= 10; n++) expect(existsSync(pwned(n))).toBe(false);
      expect(run.prompt).toContain(`- Cluster: prod-east$(touch ${pwned(1)})`);
      expect(run.prompt).toContain(`- Fault type: CrashLoop\`touch ${pwned(2)}\``);
      expect(run.prompt).toContain(`x'; touch ${pwned(3)}; echo '`);
      expect(run.prompt).toContain(`shop"; touch ${pwned(4)}; echo "`);
      expect(run.prompt).toContain("<script>alert(1)</script>");
      expect(run.prompt).toContain(JSON.stringify(event));
      // The summary is the answer's, not one planted in the event's context.
      expect(run.summary).toEqual(injectedSummary);
      expect(run.report).toContain(`report $(touch ${pwned(10)})`);
    });
  }
});
