/**
 * Builds `dist/faultline`: one standalone executable (Bun runtime included) with the worker entry
 * bundled as an extra entry point, so worker threads start from inside the binary.
 *
 *   bun run build [--outfile dist/faultline] [--target bun-linux-x64]
 */
import { parseArgs } from "node:util";

const { values } = parseArgs({
  options: { outfile: { type: "string", default: "dist/faultline" }, target: { type: "string" } },
});

const result = await Bun.build({
  entrypoints: ["src/main.ts", "src/worker/entry.ts"],
  compile: {
    outfile: values.outfile,
    ...(values.target ? { target: values.target as Bun.Build.CompileTarget } : {}),
  },
  minify: true,
  sourcemap: "linked",
});
if (!result.success) {
  for (const message of result.logs) console.error(message);
  process.exit(1);
}
console.log(`built ${values.outfile}`);
