/** faultline's version, from package.json (bundled into the compiled binary). */
import pkg from "../package.json" with { type: "json" };

/** The running faultline version. */
export const VERSION: string = pkg.version;
