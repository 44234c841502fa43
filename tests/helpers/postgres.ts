/**
 * A throw-away PostgreSQL server for tests: Debian's server binaries (`/usr/lib/postgresql/<major>/bin`, the
 * `postgresql` package), a cluster made by `initdb` in a temp dir, the server on a free 127.0.0.1 port (its
 * unix socket in the same temp dir), stopped by PID and the dir removed afterwards.
 *
 * initdb and postgres refuse to run as root, and tests and CI run as root: the server then runs as an
 * unprivileged user (`postgres` when the package created it, else `nobody`) through `setpriv`, which
 * execs (no wrapper process), so the child's PID is the postmaster's. The temp dir is chowned to that user.
 * Connections use password (SCRAM) authentication over TCP as the superuser `faultline`, with a random
 * password, so a client exercises the same path as against a real server.
 *
 * @example
 * ```ts
 * const found = findPostgres();
 * describe.skipIf(!found.bin)("store on postgres", () => {
 *   let pg: PostgresServer;
 *   beforeAll(async () => { pg = await startPostgres(); });
 *   afterAll(() => pg.stop());
 *   test("…", async () => { const sql = postgres(pg.url); … });
 * });
 * ```
 */
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import {
  chownSync,
  closeSync,
  existsSync,
  mkdtempSync,
  openSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** Where Debian installs each major version's server binaries (`<root>/<major>/bin`). */
export const DEBIAN_POSTGRES_ROOT = "/usr/lib/postgresql";

/** Overrides the binaries' folder (a folder holding `initdb`, `postgres` and `pg_isready`). */
export const POSTGRES_BIN_VARIABLE = "FAULTLINE_POSTGRES_BIN";

/** The superuser the harness creates; the URL's user. */
export const POSTGRES_SUPERUSER = "faultline";

const REQUIRED_BINARIES = ["initdb", "postgres", "pg_isready"] as const;

/** The server binaries found on this machine, or why there are none. */
export type PostgresBinaries =
  | { bin: string; major: number; missing?: undefined }
  | { bin?: undefined; missing: string };

/**
 * Finds PostgreSQL's server binaries: `$FAULTLINE_POSTGRES_BIN` when set, else the newest
 * `<root>/<major>/bin` holding initdb, postgres and pg_isready.
 *
 * @example
 * ```ts
 * const found = findPostgres();
 * if (!found.bin) console.warn(`skipped: ${found.missing}`);
 * ```
 */
export function findPostgres(
  root = DEBIAN_POSTGRES_ROOT,
  override = process.env[POSTGRES_BIN_VARIABLE],
): PostgresBinaries {
  if (override) {
    const absent = REQUIRED_BINARIES.filter((name) => !existsSync(join(override, name)));
    if (absent.length > 0)
      return { missing: `${POSTGRES_BIN_VARIABLE}=${override} has no ${absent.join(", ")}` };
    return { bin: override, major: Number.parseInt(/(\d+)\/bin\/?$/.exec(override)?.[1] ?? "0", 10) };
  }
  let majors: number[] = [];
  try {
    majors = readdirSync(root)
      .filter((name) => /^\d+$/.test(name))
      .map(Number)
      .sort((a, b) => b - a);
  } catch {
    // no such folder: reported below
  }
  for (const major of majors) {
    const bin = join(root, String(major), "bin");
    if (REQUIRED_BINARIES.every((name) => existsSync(join(bin, name)))) return { bin, major };
  }
  return {
    missing: `no PostgreSQL server binaries (${REQUIRED_BINARIES.join(", ")}) under ${root}/<major>/bin: install Debian's "postgresql" package (apt-get install postgresql), or set ${POSTGRES_BIN_VARIABLE}`,
  };
}

/** Prints once per process why PostgreSQL tests are skipped; returns whether they can run. */
export function postgresAvailable(suite: string): boolean {
  const found = findPostgres();
  if (found.missing !== undefined) process.stderr.write(`${suite}: skipped: ${found.missing}\n`);
  return found.bin !== undefined;
}

/** Options of {@link startPostgres}. */
export interface PostgresOptions {
  /**
   * `true` keeps PostgreSQL's durable defaults (fsync, synchronous commit): for benchmarks. The default,
   * `false`, turns fsync and synchronous commit off, which only matters if the machine itself crashes.
   */
  durable?: boolean;
  /** Extra server settings (`-c name=value`), e.g. `{ max_connections: "200" }`. */
  settings?: Record<string, string>;
  /** How long to wait for the server to accept connections (default 30 s). */
  readyTimeoutMs?: number;
}

/** A running throw-away PostgreSQL server. */
export interface PostgresServer {
  /** `postgres://faultline:<password>@127.0.0.1:<port>/postgres`. */
  url: string;
  host: "127.0.0.1";
  port: number;
  user: string;
  password: string;
  database: "postgres";
  /** The postmaster's PID. */
  pid: number;
  /** The temp dir (data in `data/`, the unix socket, `postgres.log`); removed by `stop`. */
  dir: string;
  /** The major version of the binaries. */
  major: number;
  /** The server's log so far. */
  log(): string;
  /** Fast shutdown by PID (SIGINT, then SIGKILL after 10 s), then removes the temp dir. Idempotent. */
  stop(): Promise<void>;
}

/** The OS user the server runs as: this one, or an unprivileged one when this process is root. */
interface ServerUser {
  name: string;
  uid: number;
  gid: number;
  /** argv prefix that runs a program as that user (empty: as this process). */
  prefix: string[];
}

/** Postmasters started by this process and not yet stopped: SIGKILLed if the test process exits first. */
const running = new Set<number>();
let exitHookInstalled = false;

/**
 * Creates a cluster with initdb in a fresh temp dir and starts it on a free 127.0.0.1 port; resolves once
 * it accepts connections. Throws (with initdb's or the server's output) when it cannot.
 */
export async function startPostgres(options: PostgresOptions = {}): Promise<PostgresServer> {
  const found = findPostgres();
  if (found.bin === undefined) throw new Error(found.missing);
  const user = serverUser();
  const dir = mkdtempSync(join(tmpdir(), "faultline-pg-"));
  try {
    if (user.prefix.length > 0) chownSync(dir, user.uid, user.gid);
    const password = randomBytes(18).toString("base64url");
    initCluster(found.bin, user, dir, password);
    installExitHook();
    let lastError: unknown;
    // A free port can be taken between probing it and the server binding it: try another.
    for (let attempt = 0; attempt < 3; attempt++) {
      const port = await freePort();
      try {
        const child = await startServer(found.bin, user, dir, port, options);
        return serverHandle(found.major, dir, port, password, child);
      } catch (error) {
        lastError = error;
      }
    }
    throw lastError;
  } catch (error) {
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }
}

function serverUser(): ServerUser {
  const self = { name: "self", uid: process.getuid?.() ?? -1, gid: process.getgid?.() ?? -1, prefix: [] };
  if (self.uid !== 0) return self;
  for (const name of ["postgres", "nobody"]) {
    const uid = idOf(name, "-u");
    const gid = idOf(name, "-g");
    if (uid === undefined || gid === undefined || uid === 0) continue;
    return {
      name,
      uid,
      gid,
      prefix: ["setpriv", `--reuid=${uid}`, `--regid=${gid}`, "--clear-groups", "--"],
    };
  }
  throw new Error(
    "running as root, and neither the postgres nor the nobody user exists to run PostgreSQL as",
  );
}

function idOf(name: string, flag: "-u" | "-g"): number | undefined {
  const answer = spawnSync("id", [flag, name], { encoding: "utf8" });
  const id = Number.parseInt(answer.stdout ?? "", 10);
  return answer.status === 0 && Number.isInteger(id) ? id : undefined;
}

function initCluster(bin: string, user: ServerUser, dir: string, password: string): void {
  const pwfile = join(dir, "pwfile");
  writeFileSync(pwfile, `${password}\n`, { mode: 0o600 });
  if (user.prefix.length > 0) chownSync(pwfile, user.uid, user.gid);
  const [program = "initdb", ...args] = [
    ...user.prefix,
    join(bin, "initdb"),
    "--pgdata",
    join(dir, "data"),
    "--username",
    POSTGRES_SUPERUSER,
    "--pwfile",
    pwfile,
    "--auth-local=trust",
    "--auth-host=scram-sha-256",
    "--encoding=UTF8",
    "--locale=C.UTF-8",
    "--no-sync",
  ];
  const result = spawnSync(program, args, { encoding: "utf8", cwd: dir, timeout: 60_000 });
  rmSync(pwfile, { force: true });
  if (result.status !== 0) {
    const output = `${result.stdout ?? ""}${result.stderr ?? ""}`.trim() || String(result.error ?? "");
    throw new Error(`initdb as ${user.name} in ${dir} failed (exit ${result.status}): ${output}`);
  }
}

/** A port that was free on 127.0.0.1 a moment ago (nothing listens on it once this resolves). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const port = typeof address === "object" && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

async function startServer(
  bin: string,
  user: ServerUser,
  dir: string,
  port: number,
  options: PostgresOptions,
): Promise<ChildProcess> {
  const settings: Record<string, string> = {
    listen_addresses: "127.0.0.1",
    unix_socket_directories: dir,
    logging_collector: "off",
    ...(options.durable ? {} : { fsync: "off", synchronous_commit: "off", full_page_writes: "off" }),
    ...options.settings,
  };
  const logPath = join(dir, "postgres.log");
  const logFd = openSync(logPath, "a");
  const [program = "postgres", ...args] = [
    ...user.prefix,
    join(bin, "postgres"),
    "-D",
    join(dir, "data"),
    "-p",
    String(port),
    ...Object.entries(settings).flatMap(([name, value]) => ["-c", `${name}=${value}`]),
  ];
  const child = spawn(program, args, { cwd: dir, stdio: ["ignore", logFd, logFd] });
  closeSync(logFd);
  const pid = child.pid;
  if (pid === undefined) throw new Error(`could not start ${program}: no PID`);
  running.add(pid);
  let exited: string | undefined;
  child.once("exit", (code, signal) => {
    exited = `exited (${signal ?? `code ${code}`})`;
    running.delete(pid);
  });
  child.once("error", (error) => {
    exited = `could not be started: ${error.message}`;
  });
  const deadline = Date.now() + (options.readyTimeoutMs ?? 30_000);
  while (Date.now() < deadline) {
    if (exited !== undefined) break;
    const probe = spawnSync(join(bin, "pg_isready"), [
      "-q",
      "-h",
      "127.0.0.1",
      "-p",
      String(port),
      "-t",
      "2",
    ]);
    if (probe.status === 0 && exited === undefined) return child;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  const why = exited ?? "did not accept connections in time";
  await killAndWait(child, pid);
  throw new Error(`postgres on 127.0.0.1:${port} ${why}; its log:\n${readLog(logPath)}`);
}

function serverHandle(
  major: number,
  dir: string,
  port: number,
  password: string,
  child: ChildProcess,
): PostgresServer {
  const pid = child.pid ?? -1;
  let stopping: Promise<void> | undefined;
  return {
    url: `postgres://${POSTGRES_SUPERUSER}:${encodeURIComponent(password)}@127.0.0.1:${port}/postgres`,
    host: "127.0.0.1",
    port,
    user: POSTGRES_SUPERUSER,
    password,
    database: "postgres",
    pid,
    dir,
    major,
    log: () => readLog(join(dir, "postgres.log")),
    stop: () => {
      stopping ??= (async () => {
        await killAndWait(child, pid);
        rmSync(dir, { recursive: true, force: true });
      })();
      return stopping;
    },
  };
}

/** SIGINT (PostgreSQL's fast shutdown) to `pid`, SIGKILL after 10 s; resolves when it has exited. */
async function killAndWait(child: ChildProcess, pid: number): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  signal(pid, "SIGINT");
  const timer = setTimeout(() => signal(pid, "SIGKILL"), 10_000);
  await exited;
  clearTimeout(timer);
  running.delete(pid);
}

function signal(pid: number, name: NodeJS.Signals): void {
  try {
    process.kill(pid, name);
  } catch {
    // already gone
  }
}

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.once("exit", () => {
    for (const pid of running) signal(pid, "SIGKILL");
  });
}

function readLog(path: string): string {
  try {
    return readFileSync(path, "utf8");
  } catch {
    return "(no log)";
  }
}
