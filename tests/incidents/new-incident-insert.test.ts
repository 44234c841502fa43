import { afterAll, describe, expect, test } from "bun:test";
import { join } from "node:path";
import { faultKey } from "../../src/incidents/fault-key.ts";
import { sequencedIncidentId } from "../../src/incidents/id.ts";
import { newIncidentInsert, newIncidentRow, prepareStatements } from "../../src/incidents/rows.ts";
import { migrate } from "../../src/incidents/schema.ts";
import type { SqliteDriver } from "../../src/runtime/sqlite.ts";
import { bunSqlite } from "../../src/runtime/sqlite-bun.ts";
import { nodeSqlite } from "../../src/runtime/sqlite-node.ts";
import { makeFault } from "../helpers/fault.ts";
import { tempDir } from "../helpers/tmp.ts";

const dir = tempDir();
afterAll(dir.cleanup);

const drivers: SqliteDriver[] = [bunSqlite() as SqliteDriver, nodeSqlite()];

describe.each(drivers.map((driver) => [driver.name, driver] as const))("%s", (name, driver) => {
  test("the new-incident insert (constants written into it, times bound once) stores newIncidentRow's row", () => {
    const db = driver.open(join(dir.path, `${name.replace(/\W/g, "_")}.db`));
    migrate(db);
    const statements = prepareStatements(db);
    try {
      const event = makeFault({ cluster: "prod-eu", fault_id: "fault-9", severity: "warning" });
      const received = Date.parse(event.received_at);
      const now = received + 250;
      const seq = 7;
      const row = newIncidentRow(
        event,
        seq,
        sequencedIncidentId(event.cluster, received, seq),
        received,
        now,
        {
          status: "skipped",
          skip_reason: "no_agent",
        },
      );
      statements.insertIncident.run(newIncidentInsert(row, faultKey(event.cluster, event.fault_id)));
      expect({ ...statements.incidentBySeq.get({ seq }) }).toEqual(row);
      const key = db.query<{ fault_key: number }, []>("SELECT fault_key FROM incidents").get()?.fault_key;
      expect(key).toBe(faultKey("prod-eu", "fault-9"));
    } finally {
      for (const statement of Object.values(statements)) statement.finalize();
      db.close();
    }
  });
});
