// The packaged executables (npm run package) for tests and benchmarks: builds dist/ when it is older than its
// sources, copies the Linux package to a folder of its own, runs an executable (the Windows one under Wine) with
// its output in a file.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

export const REPO_ROOT = path.resolve(__dirname, '..', '..');
export const DIST = path.join(REPO_ROOT, 'dist');
export const LINUX_PACKAGE = path.join(DIST, 'linux-x64');
export const WINDOWS_PACKAGE = path.join(DIST, 'win-x64');
export const WINDOWS_EXE = path.join(WINDOWS_PACKAGE, 'gateway', 'gateway.exe');
const STAMP = path.join(DIST, 'build', 'built.json');
const SOURCES = ['agent', 'tray', 'provisioning', 'powershell/DicomGateway', 'package.json', 'package-lock.json'];

function newestSource(entry: string): number {
  const stat = fs.statSync(entry);
  if (!stat.isDirectory()) return stat.mtimeMs;
  let newest = stat.mtimeMs;
  for (const name of fs.readdirSync(entry)) {
    if (name === 'node_modules') continue;
    newest = Math.max(newest, newestSource(path.join(entry, name)));
  }
  return newest;
}

/** Runs `npm run package` unless dist/ was built after the last change to its sources. */
export function ensurePackage(): { built: boolean; seconds: number } {
  const started = Date.now();
  const stamp = fs.existsSync(STAMP) ? fs.statSync(STAMP).mtimeMs : 0;
  const newest = Math.max(...SOURCES.map((s) => newestSource(path.join(REPO_ROOT, s))));
  if (stamp > newest && fs.existsSync(path.join(LINUX_PACKAGE, 'gateway')) && fs.existsSync(WINDOWS_EXE)) return { built: false, seconds: 0 };
  const result = spawnSync('npm', ['run', 'package'], { cwd: REPO_ROOT, encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`npm run package failed (${result.status}):\n${result.stdout}\n${result.stderr}`);
  return { built: true, seconds: (Date.now() - started) / 1000 };
}

/** The Linux package copied into `dir` (outside the repository: no node_modules anywhere near it). */
export function copyLinuxPackage(dir: string): string {
  fs.cpSync(LINUX_PACKAGE, dir, { recursive: true, verbatimSymlinks: true });
  return path.join(dir, 'gateway');
}

/** A Linux path as Wine's Windows programs see it (drive Z: is /). */
export function winePath(file: string): string {
  return `Z:${path.resolve(file).replace(/\//g, '\\')}`;
}

const WINE_ENV = { ...process.env, WINEDEBUG: '-all' };

/** Wine 8 answers as Windows 10 (Node 20 refuses older Windows versions). Idempotent. */
export function prepareWine(): void {
  const result = spawnSync('winecfg', ['-v', 'win10'], { env: WINE_ENV, encoding: 'utf8', timeout: 120000 });
  if (result.error) throw new Error(`Wine is needed to run gateway.exe (Debian packages wine, wine64): ${result.error.message}`);
  if (result.status !== 0) throw new Error(`winecfg -v win10 failed: ${result.stderr}`);
}

export interface PackagedProcess {
  child: ChildProcess;
  output(): string;
  exited: Promise<number | null>;
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

/**
 * Runs an executable with stdout and stderr in `logFile` (under Wine a pipe crashes Node, so always a file).
 * `wine: true` runs a Windows executable under Wine.
 */
export function runPackaged(executable: string, args: string[], logFile: string, options: { wine?: boolean; cwd?: string } = {}): PackagedProcess {
  const fd = fs.openSync(logFile, 'w');
  const [command, argv] = options.wine ? ['wine', [executable, ...args]] : [executable, args];
  const child = spawn(command, argv, { cwd: options.cwd ?? path.dirname(executable), stdio: ['ignore', fd, fd], env: options.wine ? WINE_ENV : process.env });
  fs.closeSync(fd);
  const exited = new Promise<number | null>((resolve) => {
    child.once('exit', (code) => resolve(code));
    child.once('error', () => resolve(null));
  });
  return {
    child,
    output: () => (fs.existsSync(logFile) ? fs.readFileSync(logFile, 'utf8') : ''),
    exited,
    async stop(signal: NodeJS.Signals = 'SIGTERM') {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return exited;
    },
  };
}

/** Runs a command of the executable to completion; resolves to its exit code and output. */
export async function runPackagedCommand(executable: string, args: string[], logFile: string, options: { wine?: boolean; timeoutMs?: number } = {}): Promise<{ code: number | null; output: string }> {
  const run = runPackaged(executable, args, logFile, options);
  const timer = setTimeout(() => run.child.kill('SIGKILL'), options.timeoutMs ?? 60000);
  const code = await run.exited;
  clearTimeout(timer);
  return { code, output: run.output() };
}

/** The name PostgreSQL 16+ looks up in ntdll at every open(), which Wine 8 lacks, and the one Wine has. */
const FLUSH_EX = Buffer.from('NtFlushBuffersFileEx\0');
const FLUSH = Buffer.from('NtFlushBuffersFile\0\0\0');

/**
 * A copy of the Windows package's gateway folder that runs under Wine 8: in PostgreSQL's programs and libpq the
 * import name NtFlushBuffersFileEx is shortened to NtFlushBuffersFile (same length, NUL padded). Only fdatasync()
 * calls it, and Windows' default wal_sync_method (open_datasync) does not. The shipped package is not touched.
 */
export function wineRunnableGatewayCopy(dir: string): string {
  const gatewayDir = path.join(dir, 'gateway');
  fs.cpSync(path.dirname(WINDOWS_EXE), gatewayDir, { recursive: true });
  const binDir = path.join(gatewayDir, 'postgres', 'bin');
  for (const file of fs.readdirSync(binDir)) {
    const bytes = fs.readFileSync(path.join(binDir, file));
    let at = bytes.indexOf(FLUSH_EX);
    if (at < 0) continue;
    for (; at >= 0; at = bytes.indexOf(FLUSH_EX, at)) FLUSH.copy(bytes, at);
    fs.writeFileSync(path.join(binDir, file), bytes);
  }
  return path.join(gatewayDir, 'gateway.exe');
}

/**
 * The secrets of a data folder the Windows package stored (DPAPI, through Wine's crypt32), opened with the
 * package's own gateway-dpapi.exe: what the agent reads, so a test may connect to its embedded database.
 */
export function wineOpenSecrets(gatewayExe: string, dataDir: string): Record<string, string> {
  const stored = JSON.parse(fs.readFileSync(path.join(dataDir, 'secrets.json'), 'utf8')) as { protection: string; values: Record<string, string> };
  if (stored.protection !== 'dpapi-machine') throw new Error(`secrets.json is protected as ${stored.protection}, not dpapi-machine`);
  const input = Object.entries(stored.values)
    .map(([name, value]) => `${name}\t${value}\n`)
    .join('');
  const result = spawnSync('wine', [path.join(path.dirname(gatewayExe), 'gateway-dpapi.exe'), 'unprotect'], { input, encoding: 'utf8', env: WINE_ENV, timeout: 60000 });
  if (result.status !== 0) throw new Error(`gateway-dpapi.exe unprotect failed (${result.status}): ${result.stderr}`);
  return Object.fromEntries(
    result.stdout
      .split(/\r?\n/)
      .filter((line) => line.trim())
      .map((line) => {
        const [name, value] = line.trim().split('\t');
        return [name, Buffer.from(value, 'base64').toString('utf8')];
      }),
  );
}
