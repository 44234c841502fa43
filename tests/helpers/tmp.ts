/** Temp-dir helpers for tests: real directories, removed after each test file. */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** A fresh temp directory; call `cleanup` (e.g. in afterAll) to remove it. */
export function tempDir(prefix = "faultline-test-"): { path: string; cleanup: () => void } {
  const path = mkdtempSync(join(tmpdir(), prefix));
  return { path, cleanup: () => rmSync(path, { recursive: true, force: true }) };
}

/** Writes `content` to `dir/name` and returns the full path. */
export function writeFile(dir: string, name: string, content: string, mode?: number): string {
  const path = join(dir, name);
  writeFileSync(path, content, mode === undefined ? undefined : { mode });
  return path;
}

/** A minimal kubeconfig file (contents are never read by faultline, only passed to agents). */
export function writeKubeconfig(dir: string, name: string, server = "https://127.0.0.1:6443"): string {
  return writeFile(
    dir,
    name,
    `apiVersion: v1
kind: Config
clusters: [{ name: c, cluster: { server: "${server}" } }]
contexts: [{ name: c, context: { cluster: c, user: u } }]
current-context: c
users: [{ name: u, user: { token: secret-token } }]
`,
  );
}
