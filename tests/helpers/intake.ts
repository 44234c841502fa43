/** The intake journal's file (`src/incidents/journal-file.ts`) as a test reads it, beside the store's database. */
import { Database } from "bun:sqlite";
import { join } from "node:path";
import {
  INTAKE_SUFFIX,
  type IntakeRecord,
  ROTATED_SUFFIX,
  readIntakeFile,
} from "../../src/incidents/journal-file.ts";

/** The journal's file of the store in `stateDir`. */
export function intakePath(stateDir: string): string {
  return join(stateDir, `faultline.db${INTAKE_SUFFIX}`);
}

/** The renamed file (while events in it wait) of the store in `stateDir`. */
export function rotatedIntakePath(stateDir: string): string {
  return join(stateDir, `faultline.db${ROTATED_SUFFIX}`);
}

/** How far the journal is built (`intake_mark`), read through a connection of its own. */
export function intakeMark(stateDir: string): number {
  const db = new Database(join(stateDir, "faultline.db"), { readonly: true });
  try {
    return db.query<{ seq: number }, []>("SELECT built_through AS seq FROM intake_mark").get()?.seq ?? 0;
  } finally {
    db.close();
  }
}

/** The records in the journal's files (the renamed one first) not built yet: above the mark. */
export function intakeWaiting(stateDir: string): IntakeRecord[] {
  const mark = intakeMark(stateDir);
  return [
    ...readIntakeFile(rotatedIntakePath(stateDir), mark).records,
    ...readIntakeFile(intakePath(stateDir), mark).records,
  ];
}
