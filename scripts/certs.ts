/**
 * Throwaway TLS material for tests and benchmarks: a CA and a server certificate it signed, made with the
 * `openssl` command line (argv arrays, no shell) in a directory the caller owns and removes.
 */
import { execFileSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";

/** A generated CA and a server certificate for `127.0.0.1` / `localhost` (and any extra names). */
export interface TestCertificates {
  /** The CA certificate (PEM): what a client must trust. */
  readonly ca: string;
  /** The server certificate (PEM), signed by the CA. */
  readonly cert: string;
  /** The server certificate's private key (PEM). */
  readonly key: string;
  /** Paths of the same three files, for processes that take files (`--tls-cert`, `tls.ca_file`). */
  readonly files: { readonly ca: string; readonly cert: string; readonly key: string };
}

function openssl(args: string[], cwd: string): void {
  execFileSync("openssl", args, { cwd, stdio: ["ignore", "ignore", "pipe"] });
}

/**
 * Makes a P-256 CA (`CN=<name> CA`) and a server certificate for `127.0.0.1`, `localhost` and `dnsNames`
 * in `dir`, valid for two days. Throws when `openssl` is missing or fails.
 *
 * @example
 * ```ts
 * const certs = makeTestCertificates(dir);
 * https.createServer({ cert: certs.cert, key: certs.key }, handler);
 * await fetch(url, { tls: { ca: certs.ca } });
 * ```
 */
export function makeTestCertificates(
  dir: string,
  name = "faultline-test",
  dnsNames: readonly string[] = [],
): TestCertificates {
  const ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"];
  const files = {
    ca: join(dir, `${name}-ca.pem`),
    cert: join(dir, `${name}-server.pem`),
    key: join(dir, `${name}-server-key.pem`),
  };
  const caKey = join(dir, `${name}-ca-key.pem`);
  const csr = join(dir, `${name}-server.csr`);
  const extensions = join(dir, `${name}-server.ext`);
  openssl(
    ["req", "-x509", ...ec, "-keyout", caKey, "-out", files.ca, "-days", "2", "-subj", `/CN=${name} CA`],
    dir,
  );
  openssl(["req", ...ec, "-keyout", files.key, "-out", csr, "-subj", "/CN=localhost"], dir);
  const names = ["IP:127.0.0.1", "DNS:localhost", ...dnsNames.map((dns) => `DNS:${dns}`)];
  writeFileSync(extensions, `subjectAltName=${names.join(",")}\n`);
  openssl(
    [
      "x509",
      "-req",
      "-in",
      csr,
      "-CA",
      files.ca,
      "-CAkey",
      caKey,
      "-set_serial",
      String(Date.now()),
      "-out",
      files.cert,
      "-days",
      "2",
      "-extfile",
      extensions,
    ],
    dir,
  );
  return {
    ca: readFileSync(files.ca, "utf8"),
    cert: readFileSync(files.cert, "utf8"),
    key: readFileSync(files.key, "utf8"),
    files,
  };
}
