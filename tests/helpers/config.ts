/** Config-file helpers for tests. */
import { ConfigError, parseConfig } from "../../src/config/load.ts";
import { formatFieldIssue } from "../../src/validation/issues.ts";

/**
 * Every problem config `text` has, as `path: message` lines, when read as if from `source` with `env`
 * (empty when it is valid).
 */
export function configProblems(
  text: string,
  source: string,
  env: Record<string, string | undefined> = {},
): string[] {
  try {
    parseConfig(text, source, env);
  } catch (error) {
    if (error instanceof ConfigError) return error.issues.map(formatFieldIssue);
    throw error;
  }
  return [];
}
