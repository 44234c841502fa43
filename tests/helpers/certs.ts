/**
 * Test certificates made with `openssl` in a temp dir: a CA, a server certificate it signs (SAN
 * 127.0.0.1, localhost and a given DNS name), a client certificate for mTLS, and a second CA that
 * signed none of them (for "not trusted" cases).
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { writeFile } from "./tmp.ts";

/** Files of {@link makeCertificates}, absolute paths. */
export interface TestCertificates {
  caFile: string;
  /** A CA that signed nothing here. */
  otherCaFile: string;
  serverCertFile: string;
  serverKeyFile: string;
  clientCertFile: string;
  clientKeyFile: string;
  /** The DNS name the server certificate is issued for (besides 127.0.0.1 and localhost). */
  serverName: string;
  /** Reads one of the files as text. */
  read(file: string): string;
}

function openssl(dir: string, args: string[]): void {
  const result = Bun.spawnSync(["openssl", ...args], { cwd: dir, stdout: "pipe", stderr: "pipe" });
  if (result.exitCode !== 0) {
    throw new Error(`openssl ${args.join(" ")} failed: ${result.stderr.toString()}`);
  }
}

/** Makes a CA, a server and a client certificate in `dir` (RSA 2048, valid 2 days). */
export function makeCertificates(dir: string, serverName = "mcp.internal"): TestCertificates {
  const days = ["-days", "2"];
  for (const ca of ["ca", "other-ca"]) {
    openssl(dir, [
      "req",
      "-x509",
      "-newkey",
      "rsa:2048",
      "-nodes",
      "-keyout",
      `${ca}.key`,
      "-out",
      `${ca}.pem`,
      ...days,
      "-subj",
      `/CN=faultline test ${ca}`,
    ]);
  }
  writeFile(dir, "server.ext", `subjectAltName=IP:127.0.0.1,DNS:localhost,DNS:${serverName}\n`);
  writeFile(dir, "client.ext", "extendedKeyUsage=clientAuth\n");
  for (const [name, subject] of [
    ["server", `/CN=${serverName}`],
    ["client", "/CN=faultline"],
  ] as const) {
    openssl(dir, [
      "req",
      "-newkey",
      "rsa:2048",
      "-nodes",
      "-keyout",
      `${name}.key`,
      "-out",
      `${name}.csr`,
      "-subj",
      subject,
    ]);
    openssl(dir, [
      "x509",
      "-req",
      "-in",
      `${name}.csr`,
      "-CA",
      "ca.pem",
      "-CAkey",
      "ca.key",
      "-CAcreateserial",
      "-out",
      `${name}.pem`,
      ...days,
      "-extfile",
      `${name}.ext`,
    ]);
  }
  return {
    caFile: join(dir, "ca.pem"),
    otherCaFile: join(dir, "other-ca.pem"),
    serverCertFile: join(dir, "server.pem"),
    serverKeyFile: join(dir, "server.key"),
    clientCertFile: join(dir, "client.pem"),
    clientKeyFile: join(dir, "client.key"),
    serverName,
    read: (file) => readFileSync(file, "utf8"),
  };
}
