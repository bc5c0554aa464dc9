// Secrets kept out of gateway.json: <dataDir>/secrets.json, { "format": 1, "protection": ..., "values": { name: value } }.
// On Windows each value is protected with DPAPI in machine scope (Install-DicomGateway, `gateway secret set` or
// the agent itself for the database passwords it makes): a copy of the file opens on no other computer, and the
// data folder's permissions decide who on this one may read it. Elsewhere the values are plain in a file of mode
// 0600 that nobody else may read.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { ConfigError } from './config-error';
import type { UpstreamConfig } from './upstream-config';

/**
 * database.password: the agent's own database role (made at the embedded database's first start; for a server
 * of your own, the password database.url leaves out). database.adminPassword: the embedded database's superuser,
 * made at its first start and used only to set up the agent's role at each start; nobody sets it.
 */
export const SECRET_NAMES = ['upstream.token', 'upstream.proxyPassword', 'database.password', 'database.adminPassword'] as const;
export type SecretName = (typeof SECRET_NAMES)[number];
/** What `gateway secret set` and Install-DicomGateway may store. */
export const SETTABLE_SECRET_NAMES: readonly SecretName[] = ['upstream.token', 'upstream.proxyPassword', 'database.password'];
export type Protection = 'dpapi-machine' | 'file-permissions';

interface SecretFile {
  format: 1;
  protection: Protection;
  values: Record<string, string>;
}

/** Opens or protects values by name; the Windows one runs PowerShell, tests may hand in another. */
export interface SecretCodec {
  protection: Protection;
  protect(values: Record<string, string>): Record<string, string>;
  unprotect(values: Record<string, string>): Record<string, string>;
}

export function secretsPath(dataDir: string): string {
  return path.join(dataDir, 'secrets.json');
}

export function isSecretName(name: string): name is SecretName {
  return (SECRET_NAMES as readonly string[]).includes(name);
}

/** The secrets of a data folder, opened, by name; empty when there is no secrets.json. */
export function readSecrets(dataDir: string, codec: SecretCodec = platformCodec()): Partial<Record<SecretName, string>> {
  const file = secretsPath(dataDir);
  const stored = readSecretFile(file);
  if (!stored) return {};
  if (stored.protection !== codec.protection)
    throw new ConfigError(`${file} is protected as ${stored.protection}, which this computer cannot open (it needs ${codec.protection}); store the secrets again with gateway secret set`);
  if (stored.protection === 'file-permissions') assertPrivate(file);
  const cached = openedCache.get(file);
  const stamp = fileStamp(file);
  if (cached && cached.stamp === stamp) return cached.values;
  let values: Record<string, string>;
  try {
    values = codec.unprotect(stored.values);
  } catch (err) {
    throw new ConfigError(`cannot open the secrets in ${file}: ${(err as Error).message}`);
  }
  const known = Object.fromEntries(Object.entries(values).filter(([name]) => isSecretName(name)));
  openedCache.set(file, { stamp, values: known });
  return known;
}

/** Stores secrets (replacing earlier values of the same names), protected; the file is replaced whole. */
export function writeSecrets(dataDir: string, secrets: Partial<Record<SecretName, string>>, codec: SecretCodec = platformCodec()): void {
  const file = secretsPath(dataDir);
  const stored = readSecretFile(file);
  const values = stored && stored.protection === codec.protection ? { ...stored.values } : {};
  Object.assign(values, codec.protect(secrets as Record<string, string>));
  fs.mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  restrictDataFolder(dataDir);
  const content: SecretFile = { format: 1, protection: codec.protection, values };
  fs.writeFileSync(`${file}.tmp`, `${JSON.stringify(content, null, 2)}\n`, { mode: 0o600 });
  fs.renameSync(`${file}.tmp`, file);
  openedCache.delete(file);
}

/** The upstream with its secrets filled in from the store: a stored value wins over one left in gateway.json. */
export function withSecrets(upstream: UpstreamConfig, secrets: Partial<Record<SecretName, string>>): UpstreamConfig {
  const filled = { ...upstream };
  if (secrets['upstream.token'] !== undefined) filled.token = secrets['upstream.token'];
  const password = secrets['upstream.proxyPassword'];
  if (password !== undefined && filled.proxy) {
    const url = new URL(filled.proxy);
    if (!url.username) throw new ConfigError('upstream.proxy names no user, but a proxy password is stored: write the user into upstream.proxy (http://user@proxy:3128)');
    url.password = encodeURIComponent(password);
    filled.proxy = url.toString().replace(/\/$/, '');
  }
  return filled;
}

/**
 * POSIX: the data folder 0700, as the agent's umask (077) makes it when it creates it. Not as root: the embedded
 * PostgreSQL then runs as the postgres user, which must reach its folder inside (the secrets file stays 0600).
 */
function restrictDataFolder(dataDir: string): void {
  if (process.platform === 'win32' || process.getuid?.() === 0) return;
  fs.chmodSync(dataDir, 0o700);
}

/** Files the agent creates are its own alone (POSIX; Windows has the data folder's permissions instead). */
export function restrictNewFiles(): void {
  if (process.platform !== 'win32' && process.getuid?.() !== 0) process.umask(0o077);
}

function readSecretFile(file: string): SecretFile | undefined {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new ConfigError(`cannot read the secrets ${file}: ${(err as Error).message}`);
  }
  let parsed: Partial<SecretFile>;
  try {
    parsed = JSON.parse(text.replace(/^\uFEFF/, ''));
  } catch (err) {
    throw new ConfigError(`the secrets ${file} are not valid JSON: ${(err as Error).message}`);
  }
  const values = parsed.values;
  if (
    parsed.format !== 1 ||
    (parsed.protection !== 'dpapi-machine' && parsed.protection !== 'file-permissions') ||
    typeof values !== 'object' ||
    values === null ||
    Object.values(values).some((v) => typeof v !== 'string')
  ) {
    throw new ConfigError(`the secrets ${file} are not in the format this gateway writes (format 1, protection dpapi-machine or file-permissions)`);
  }
  return parsed as SecretFile;
}

/** Like ssh with a private key: plain secrets that others may read are refused, not used. */
function assertPrivate(file: string): void {
  const mode = fs.statSync(file).mode & 0o777;
  if ((mode & 0o077) !== 0) throw new ConfigError(`${file} may be read by others (mode ${mode.toString(8)}): chmod 600 it, and change the secrets in it`);
}

/** Opened values by file, while the file stays the same: the compressor reloads the configuration every few seconds. */
const openedCache = new Map<string, { stamp: string; values: Partial<Record<SecretName, string>> }>();

function fileStamp(file: string): string {
  const stat = fs.statSync(file);
  return `${stat.size}:${stat.mtimeMs}:${stat.ino}`;
}

export function platformCodec(platform: NodeJS.Platform = process.platform): SecretCodec {
  if (platform !== 'win32') return { protection: 'file-permissions', protect: (values) => values, unprotect: (values) => values };
  return { protection: 'dpapi-machine', protect: (values) => runDpapi('protect', values), unprotect: (values) => runDpapi('unprotect', values) };
}

/**
 * DPAPI through gateway-dpapi.exe next to gateway.exe (provisioning/package/dpapi: CryptProtectData in machine scope
 * with "DicomGateway:<name>" as entropy, exactly what powershell/DicomGateway/Private/Windows/Dpapi.ps1 does with
 * .NET's ProtectedData). Values travel on standard input and output, never the command line or the environment:
 * one "name<TAB>base64" line each; protect takes the clear text in base64, unprotect gives it back the same way.
 */
function runDpapi(direction: 'protect' | 'unprotect', values: Record<string, string>): Record<string, string> {
  const helper = path.join(path.dirname(process.execPath), 'gateway-dpapi.exe');
  if (!fs.existsSync(helper)) throw new Error(`${helper} is missing: it protects the secrets with DPAPI; install the gateway again`);
  const input = Object.entries(values)
    .map(([name, value]) => `${name}\t${direction === 'protect' ? Buffer.from(value, 'utf8').toString('base64') : value}`)
    .join('\n');
  let output: string;
  try {
    output = execFileSync(helper, [direction], { input, encoding: 'utf8', windowsHide: true, timeout: 30_000, stdio: ['pipe', 'pipe', 'pipe'] });
  } catch (err) {
    const stderr = String((err as { stderr?: unknown }).stderr ?? '').trim();
    throw new Error(`${helper} ${direction} failed: ${stderr || (err as Error).message}`);
  }
  const result: Record<string, string> = {};
  for (const line of output.split(/\r?\n/)) {
    if (!line.trim()) continue;
    const [name, data] = line.trim().split('\t');
    result[name] = direction === 'unprotect' ? Buffer.from(data, 'base64').toString('utf8') : data;
  }
  for (const name of Object.keys(values)) if (result[name] === undefined) throw new Error(`${helper} gave no ${direction}ed value for ${name}`);
  return result;
}
