/**
 * Reading the files a connection's credentials live in: bearer tokens and PEM certificates and keys.
 * Sizes are bounded before anything is read; an error names the file and why, never its contents.
 * `faultline check` reads them to report problems; workers read them again at every (re)connect, so a
 * rotated token or certificate is picked up.
 */
import { X509Certificate } from "node:crypto";
import { readFileSync, statSync } from "node:fs";
import { errorMessage } from "../log.ts";
import { errnoCode } from "../runtime/errno.ts";

/** Largest token file read (a bearer token, an OIDC ID token: a few KiB at most). */
export const MAX_TOKEN_FILE_BYTES = 64 * 1024;

/** Largest PEM file read (a CA bundle of a few hundred certificates). */
export const MAX_PEM_FILE_BYTES = 1024 * 1024;

/** A credential file that cannot be used; the message names the file and why (never its contents). */
export class SecretFileError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "SecretFileError";
  }
}

/** What a PEM file must hold. */
export type PemKind = "certificate" | "private key";

/** Reads a text file of at most `maxBytes`. Throws {@link SecretFileError}. */
function readBounded(path: string, maxBytes: number): string {
  try {
    const stat = statSync(path);
    if (!stat.isFile()) throw new SecretFileError(`"${path}" is not a file`);
    if (stat.size > maxBytes) throw new SecretFileError(`"${path}" is larger than ${maxBytes} bytes`);
    return readFileSync(path, "utf8");
  } catch (error) {
    if (error instanceof SecretFileError) throw error;
    const code = errnoCode(error);
    const why =
      code === "ENOENT" ? "no such file" : code === "EACCES" ? "permission denied" : errorMessage(error);
    throw new SecretFileError(`cannot read "${path}": ${why}`);
  }
}

/** The token in `path` (surrounding whitespace removed). Throws {@link SecretFileError} when unreadable or empty. */
export function readTokenFile(path: string): string {
  const token = readBounded(path, MAX_TOKEN_FILE_BYTES).trim();
  if (token === "") throw new SecretFileError(`"${path}" is empty`);
  if (/[\r\n\0]/.test(token)) throw new SecretFileError(`"${path}" holds more than one line`);
  return token;
}

const PEM_BLOCK = {
  certificate: /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/,
  "private key": /-----BEGIN (?:[A-Z]+ )?PRIVATE KEY-----[\s\S]+?-----END (?:[A-Z]+ )?PRIVATE KEY-----/,
} as const;

/**
 * The PEM text in `path`, checked to hold a `kind` block (a certificate must also parse). Throws
 * {@link SecretFileError} when unreadable or not PEM.
 */
export function readPemFile(path: string, kind: PemKind): string {
  const text = readBounded(path, MAX_PEM_FILE_BYTES);
  const block = PEM_BLOCK[kind].exec(text)?.[0];
  if (!block) throw new SecretFileError(`"${path}" is not a PEM ${kind} (no BEGIN/END ${kind} block)`);
  if (kind === "certificate") {
    try {
      new X509Certificate(block);
    } catch {
      throw new SecretFileError(`"${path}" is not a valid PEM certificate`);
    }
  }
  return text;
}
