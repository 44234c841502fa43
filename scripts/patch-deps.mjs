/**
 * `postinstall`: patches known crashes in pinned dependencies, in place under node_modules, until upstream
 * releases the fix. Runs under plain Node.js (npm ci runs it before Bun is used), needs no package, is
 * idempotent, and fails the install, naming the file, if a patched dependency's version or text is not the
 * one this patch was written for (an upgrade must look at the patch again).
 *
 * - postgres 3.4.9, `nextWrite`: a write scheduled with `setImmediate` (or made on a reserved connection)
 *   after the server closed the connection dereferences the null socket, an uncaught TypeError that ends
 *   the process (porsager/postgres#1066, #1154, #1208; fixes proposed in #1168, #1176, #1209, not
 *   released). Patched as #1209 does: the write is dropped and what waits on it is rejected with
 *   CONNECTION_CLOSED, which faultline's store already handles as a lost connection.
 *   tests/incidents/pg/postgres-closed-write.test.ts shows the crash without the patch.
 *
 *   node scripts/patch-deps.mjs          patch (what npm ci runs)
 *   node scripts/patch-deps.mjs --check  exit 1 unless every patch is in place
 */
import { readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..");

/** Marks a patched spot, so that a second run leaves it alone. */
const MARK = "/* faultline patch: porsager/postgres#1208 */";

const PATCHES = [
  {
    name: "postgres",
    version: "3.4.9",
    files: ["src/connection.js", "cjs/src/connection.js", "cf/src/connection.js"],
    before: "  function nextWrite(fn) {\n    const x = socket.write(chunk, fn)\n",
    after:
      "  function nextWrite(fn) {\n" +
      `    if (!socket) { ${MARK}\n` +
      "      nextWriteTimer !== null && clearImmediate(nextWriteTimer)\n" +
      "      chunk = nextWriteTimer = null\n" +
      "      error(Errors.connection('CONNECTION_CLOSED', options))\n" +
      "      return false\n" +
      "    }\n" +
      "    const x = socket.write(chunk, fn)\n",
  },
];

const check = process.argv.includes("--check");
let problems = 0;
for (const patch of PATCHES) {
  const dir = join(ROOT, "node_modules", patch.name);
  let version;
  try {
    version = JSON.parse(readFileSync(join(dir, "package.json"), "utf8")).version;
  } catch {
    continue; // not installed (e.g. a production install without it): nothing to patch
  }
  if (version !== patch.version) {
    console.error(
      `patch-deps: ${patch.name} is ${version}, the patch is for ${patch.version}: review scripts/patch-deps.mjs`,
    );
    problems++;
    continue;
  }
  for (const file of patch.files) {
    const path = join(dir, file);
    const text = readFileSync(path, "utf8");
    if (text.includes(MARK)) continue;
    if (check || !text.includes(patch.before)) {
      console.error(`patch-deps: ${path}: ${check ? "not patched" : "the text to patch is not there"}`);
      problems++;
      continue;
    }
    writeFileSync(path, text.replace(patch.before, patch.after));
    console.log(`patch-deps: patched ${patch.name}/${file}`);
  }
}
process.exit(problems === 0 ? 0 : 1);
