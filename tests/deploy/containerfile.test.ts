/** The Containerfile's contract with deploy/kubernetes: non-root, health on 0.0.0.0:8080, a self-probe. */
import { expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";

const ROOT = join(import.meta.dir, "..", "..");
const containerfile = readFileSync(join(ROOT, "Containerfile"), "utf8");
const finalStage = containerfile.slice(containerfile.lastIndexOf("\nFROM "));

test("the image runs as 65532 (the Deployment's runAsUser) with health on 0.0.0.0:8080", () => {
  expect(finalStage).toContain("\nUSER 65532:65532\n");
  expect(finalStage).toContain("\nENV FAULTLINE_HEALTH_LISTEN=0.0.0.0:8080\n");
  expect(finalStage).toContain("\nEXPOSE 8080\n");
});

test("the HEALTHCHECK probes /livez with the binary itself (no curl in debian-slim)", () => {
  expect(finalStage).toMatch(
    /\nHEALTHCHECK [^\n]*\\\n\s+CMD \["\/usr\/local\/bin\/faultline", "probe", "http:\/\/127\.0\.0\.1:8080\/livez"\]\n/,
  );
});

test("the build stage refuses source maps in dist/", () => {
  expect(containerfile).toContain(`RUN npx bun run build && test -z "$(find dist -name '*.map')"`);
});

test("both ignore files keep deploy/ (kubeconfigs, tokens) out of the build context", () => {
  const container = readFileSync(join(ROOT, ".containerignore"), "utf8");
  expect(readFileSync(join(ROOT, ".dockerignore"), "utf8")).toBe(container);
  expect(container.split("\n")).toContain("deploy");
});

test("what npm ci's install scripts run is copied in before npm ci (only package.json and the lockfile are there)", () => {
  const scripts = (
    JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as { scripts: Record<string, string> }
  ).scripts;
  const install = ["preinstall", "install", "postinstall", "prepare"].flatMap((name) => scripts[name] ?? []);
  expect(install).toEqual(["node scripts/patch-deps.mjs"]);
  const beforeInstall = containerfile.slice(0, containerfile.indexOf("\nRUN npm ci") + 1);
  for (const command of install) {
    for (const file of command.split(" ").filter((word) => word.startsWith("scripts/"))) {
      expect(beforeInstall).toContain(`\nCOPY ${file} scripts/\n`);
    }
  }
});
