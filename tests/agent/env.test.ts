/** The agent's environment: faultline's own secrets (the store's URL) never reach an agent unasked. */
import { expect, test } from "bun:test";
import { agentEnv, isPassedThrough, WITHHELD_VARIABLES } from "../../src/agent/env.ts";
import { DEFAULT_ENV_PASSTHROUGH } from "../../src/config/schema.ts";

const from = {
  PATH: "/usr/bin",
  FAULTLINE_HEALTH_LISTEN: "0.0.0.0:8080",
  FAULTLINE_DATABASE_URL: "postgres://faultline:planted-password@db:5432/faultline",
  AWS_SECRET_ACCESS_KEY: "planted-key",
};
const run = {
  incident_id: "inc-1",
  cluster: { name: "prod-eu", kubeconfig: "/etc/faultline/kubeconfigs/prod-eu.yaml" },
  workspace: "/var/lib/faultline/workspaces/inc-1",
  from,
};

test("FAULTLINE_DATABASE_URL is withheld from agents, even under a FAULTLINE_* pattern", () => {
  expect(WITHHELD_VARIABLES).toContain("FAULTLINE_DATABASE_URL");
  for (const passthrough of [DEFAULT_ENV_PASSTHROUGH, ["PATH", "FAULTLINE_*"], ["PATH", "FAULTLINE_DATA*"]]) {
    const env = agentEnv({ ...run, passthrough });
    expect(JSON.stringify(env)).not.toContain("planted-password");
    expect(env.FAULTLINE_HEALTH_LISTEN).toBe("0.0.0.0:8080");
    expect(env.PATH).toBe("/usr/bin");
    expect(env.FAULTLINE_CLUSTER).toBe("prod-eu");
  }
  expect(isPassedThrough("FAULTLINE_DATABASE_URL", DEFAULT_ENV_PASSTHROUGH)).toBe(false);
  expect(isPassedThrough("FAULTLINE_HEALTH_LISTEN", [])).toBe(true);
  expect(isPassedThrough("AWS_SECRET_ACCESS_KEY", DEFAULT_ENV_PASSTHROUGH)).toBe(false);
});

test("an agent that asks for FAULTLINE_DATABASE_URL by its exact name gets it", () => {
  const env = agentEnv({ ...run, passthrough: ["PATH", "FAULTLINE_DATABASE_URL"] });
  expect(env.FAULTLINE_DATABASE_URL).toBe(from.FAULTLINE_DATABASE_URL);
  expect(env.AWS_SECRET_ACCESS_KEY).toBeUndefined();
});
