import crypto from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { readSecrets, writeSecrets, type SecretName } from '../config/secrets';
import { errorMessage } from '../errors';
import type { Logger } from '../logging';
import { logsDir } from '../logging';
import { giveToPostgres, postgresAccount, runPostgresTool, type PostgresAccount, type ToolResult } from './postgres-tools';

/** A running PostgreSQL server the agent owns, in <dataDir>/postgres. */
export interface EmbeddedDatabase {
  /** The agent's own role: owns the database 'gateway' and nothing else; no superuser, no CREATEROLE, no CREATEDB. */
  url: string;
  /** The superuser, used only to set up the agent's role and database at start (and by tests to create databases). */
  adminUrl: string;
  /** An orderly stop (pg_ctl stop -m fast, waited for); the next start finds a cleanly shut down cluster. */
  stop(): Promise<void>;
}

const DATABASE_NAME = 'gateway';
/** The agent's role. Clusters made before roles were split had it as their bootstrap superuser. */
const ROLE = 'gateway';
/** The cluster's superuser (bootstrap superuser of clusters made since). */
const ADMIN_ROLE = 'gateway_admin';
/** What a cluster's former bootstrap superuser 'gateway' is renamed to: it cannot lose SUPERUSER, so it may no longer log in. */
const RETIRED_BOOTSTRAP_ROLE = 'gateway_bootstrap';
/** A start after a crash waits this long for the killed agent's server (postmaster, children, shared memory) to go. */
const LEFTOVER_WAIT_MS = 60_000;
/** pg_ctl's own wait for a start or a stop to complete. */
const PG_CTL_WAIT_SECONDS = 60;
/** The server log is set aside at a start once it is this large (PostgreSQL writes little at its defaults). */
const SERVER_LOG_ROTATE_BYTES = 10 * 1024 * 1024;

/** The cluster in <dataDir>/postgres and where its programs write. */
interface Cluster {
  dataDir: string;
  databaseDir: string;
  /** The server's own log (pg_ctl -l): <dataDir>/logs/postgres.log. */
  serverLog: string;
  /** What initdb and pg_ctl print, kept from their last run: <dataDir>/logs/pg_ctl.out. */
  toolOutput: string;
  account: PostgresAccount;
}

/**
 * Starts the agent's own PostgreSQL on 127.0.0.1 only, through PostgreSQL's own initdb and pg_ctl (never
 * postgres directly: on Windows only they drop an administrator's rights, which the server refuses to run with).
 * The server runs detached from the agent, logs to <dataDir>/logs/postgres.log and is stopped in order by stop().
 * A server left by a killed agent is stopped the same way first; a dying one is waited for (up to 60 s).
 */
export async function startEmbeddedPostgres(dataDir: string, port: number, log: Logger): Promise<EmbeddedDatabase> {
  const account = postgresAccount();
  if (account.uid !== undefined) assertReachableByPostgresUser(dataDir);
  fs.mkdirSync(logsDir(dataDir), { recursive: true });
  const cluster: Cluster = {
    dataDir,
    databaseDir: path.join(path.resolve(dataDir), 'postgres'),
    serverLog: path.join(logsDir(dataDir), 'postgres.log'),
    toolOutput: path.join(logsDir(dataDir), 'pg_ctl.out'),
    account,
  };
  const { password, adminPassword } = databasePasswords(dataDir);
  if (!fs.existsSync(path.join(cluster.databaseDir, 'PG_VERSION'))) await initialiseCluster(cluster, adminPassword, log);
  const listenPort = port === 0 ? await freePort() : port;
  const startLog = await startServer(cluster, listenPort, log);

  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopping ??= stopServer(cluster, log).then(() => {
      log.info('embedded PostgreSQL stopped');
    });
    return stopping;
  };
  const url = (role: string, secret: string, database: string) => `postgres://${role}:${encodeURIComponent(secret)}@127.0.0.1:${listenPort}/${database}`;
  try {
    await setUpAgentRole({ admin: (database) => url(ADMIN_ROLE, adminPassword, database), legacyAdmin: url(ROLE, password, 'postgres'), adminPassword, password }, log);
  } catch (err) {
    await stop();
    throw new Error(`embedded PostgreSQL in ${cluster.databaseDir} started but cannot be used: ${errorMessage(err)}`);
  }
  log.info('embedded PostgreSQL started', { port: listenPort, previousShutdown: previousShutdown(startLog) });
  return { url: url(ROLE, password, DATABASE_NAME), adminUrl: url(ADMIN_ROLE, adminPassword, 'postgres'), stop };
}

/** initdb into a folder of its own, renamed into place when complete: a start cut short leaves no half cluster. */
async function initialiseCluster(cluster: Cluster, adminPassword: string, log: Logger): Promise<void> {
  const building = `${cluster.databaseDir}.initdb`;
  const passwordFile = path.join(cluster.dataDir, 'postgres-initdb-password');
  fs.rmSync(building, { recursive: true, force: true });
  fs.mkdirSync(building, { mode: 0o700 });
  giveToPostgres(building, cluster.account);
  fs.writeFileSync(passwordFile, `${adminPassword}\n`, { mode: 0o600 });
  giveToPostgres(passwordFile, cluster.account);
  log.info('initialising embedded PostgreSQL', { databaseDir: cluster.databaseDir });
  try {
    const result = await pgTool(
      cluster,
      'initdb',
      [`--pgdata=${building}`, `--username=${ADMIN_ROLE}`, `--pwfile=${passwordFile}`, '--auth=scram-sha-256', '--encoding=UTF8', '--locale=C', '--no-instructions'],
      300_000,
    );
    if (result.code !== 0) throw new Error(`initdb of ${cluster.databaseDir} failed (exit ${result.code}): ${lastLines(result.output)}`);
  } finally {
    fs.rmSync(passwordFile, { force: true });
  }
  fs.rmSync(cluster.databaseDir, { recursive: true, force: true });
  fs.renameSync(building, cluster.databaseDir);
}

/** pg_ctl start, after clearing what a killed agent left; retried while that is still going away. */
async function startServer(cluster: Cluster, port: number, log: Logger): Promise<string> {
  const deadline = Date.now() + LEFTOVER_WAIT_MS;
  let lastReported: string | undefined;
  for (;;) {
    let waitingFor = await clearLeftoverServer(cluster, log);
    if (!waitingFor) {
      // Only now: on Windows a leftover server holds its log open and nobody else may open it.
      rotateServerLog(cluster);
      const logOffset = fileSize(cluster.serverLog);
      const result = await pgTool(cluster, 'pg_ctl', ['start', '-D', cluster.databaseDir, '-l', cluster.serverLog, '-w', '-t', String(PG_CTL_WAIT_SECONDS), '-o', serverOptions(port)]);
      const serverLog = readFrom(cluster.serverLog, logOffset);
      if (result.code === 0) return serverLog;
      waitingFor = previousServerStillThere(serverLog);
      if (!waitingFor) {
        throw new Error(`embedded PostgreSQL in ${cluster.databaseDir} did not start on 127.0.0.1:${port}: ${serverError(serverLog) ?? lastLines(result.output)} (see ${cluster.serverLog})`);
      }
    }
    if (Date.now() >= deadline) {
      throw new Error(`embedded PostgreSQL in ${cluster.databaseDir} did not start: after ${LEFTOVER_WAIT_MS / 1000} s, still waiting for ${waitingFor}`);
    }
    if (waitingFor !== lastReported) {
      log.warn('waiting for the PostgreSQL of a previous agent to end', { waitingFor, secondsLeft: Math.round((deadline - Date.now()) / 1000) });
      lastReported = waitingFor;
    }
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
}

/** PostgreSQL's settings for the agent: loopback only, no Unix socket (nothing but the agent connects), English messages. */
function serverOptions(port: number): string {
  const options = [`-p ${port}`, '-c listen_addresses=127.0.0.1', '-c max_connections=100', '-c lc_messages=C'];
  if (process.platform !== 'win32') options.push("-c unix_socket_directories=''");
  return options.join(' ');
}

/**
 * What a killed agent left in the cluster: a live postmaster is stopped in order (as stop() does), a lock file
 * whose process id now belongs to another program is removed. Resolves to what must still be waited for (a
 * postmaster that is dying), or undefined when the way is clear. Never removes the lock of a live postmaster.
 */
async function clearLeftoverServer(cluster: Cluster, log: Logger): Promise<string | undefined> {
  const lockFile = path.join(cluster.databaseDir, 'postmaster.pid');
  const pid = readPostmasterPid(lockFile);
  if (pid === undefined) return undefined;
  const state = await postmasterState(cluster, pid);
  if (state === 'gone') return undefined; // PostgreSQL itself takes over a lock file whose process is gone.
  if (state === 'dying') return `its postmaster (pid ${pid}) to exit`;
  if (state === 'another program') {
    log.warn('removing a stale postmaster.pid: its process id now belongs to another program', { pid });
    fs.rmSync(lockFile, { force: true });
    return undefined;
  }
  log.warn('stopping a PostgreSQL server left running by a previous agent', { pid });
  await stopServer(cluster, log);
  return undefined;
}

type PostmasterState = 'running' | 'dying' | 'gone' | 'another program';

/**
 * Linux: from /proc (a killed postmaster is a zombie until reaped, which kill(pid, 0) and pg_ctl take for alive;
 * a recycled pid runs another program). Elsewhere pg_ctl status decides: on Windows it asks the postmaster's
 * own signal pipe, which only a live postmaster has.
 */
async function postmasterState(cluster: Cluster, pid: number): Promise<PostmasterState> {
  if (process.platform === 'linux') {
    let stat: string;
    try {
      stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    } catch {
      return 'gone';
    }
    // The state follows the parenthesised command name, which may itself hold spaces or parentheses.
    if (stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) === 'Z') return 'dying';
    const argv = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
    return path.basename(argv[0]) === 'postgres' && argv.includes(cluster.databaseDir) ? 'running' : 'another program';
  }
  const status = await pgTool(cluster, 'pg_ctl', ['status', '-D', cluster.databaseDir]);
  return status.code === 0 ? 'running' : 'gone';
}

/** pg_ctl stop -m fast (in-flight transactions rolled back, a clean shutdown checkpoint), immediate if that fails. */
async function stopServer(cluster: Cluster, log: Logger): Promise<void> {
  const stopIn = (mode: 'fast' | 'immediate') => pgTool(cluster, 'pg_ctl', ['stop', '-D', cluster.databaseDir, '-m', mode, '-w', '-t', String(PG_CTL_WAIT_SECONDS)]);
  const fast = await stopIn('fast');
  if (fast.code === 0 || !(await isServerRunning(cluster))) return;
  log.warn('PostgreSQL did not stop in fast mode: stopping it in immediate mode (the next start recovers)', { output: lastLines(fast.output) });
  const immediate = await stopIn('immediate');
  if (immediate.code !== 0 && (await isServerRunning(cluster))) {
    throw new Error(`PostgreSQL in ${cluster.databaseDir} did not stop: ${lastLines(immediate.output)}`);
  }
}

async function isServerRunning(cluster: Cluster): Promise<boolean> {
  const pid = readPostmasterPid(path.join(cluster.databaseDir, 'postmaster.pid'));
  return pid !== undefined && (await postmasterState(cluster, pid)) === 'running';
}

function pgTool(cluster: Cluster, tool: 'initdb' | 'pg_ctl', args: string[], timeoutMs = (PG_CTL_WAIT_SECONDS + 30) * 1000): Promise<ToolResult> {
  return runPostgresTool(tool, args, { account: cluster.account, outputFile: cluster.toolOutput, timeoutMs });
}

function readPostmasterPid(lockFile: string): number | undefined {
  let text: string;
  try {
    text = fs.readFileSync(lockFile, 'utf8');
  } catch {
    return undefined;
  }
  const pid = Number(text.split('\n')[0]);
  return Number.isInteger(pid) && pid > 0 ? pid : undefined;
}

/**
 * The server's reasons for refusing to start that mean "a previous server has not finished going away": its lock
 * (a postmaster still alive to PostgreSQL's own check) or its shared memory (children of a killed postmaster still
 * attached). Matched in the C locale the agent starts PostgreSQL with.
 */
function previousServerStillThere(serverLog: string): string | undefined {
  if (/lock file "postmaster\.pid" already exists/.test(serverLog)) return 'the previous postmaster to release its lock file';
  if (/pre-existing shared memory block .*is still in use/.test(serverLog)) return "the previous server's processes to detach from its shared memory";
  return undefined;
}

/** How the cluster was left, from the startup messages: what support wants to know after a stop or an upgrade. */
function previousShutdown(serverLog: string): 'clean' | 'crash recovery' | 'unknown' {
  if (/database system was shut down( in recovery)? at/.test(serverLog)) return 'clean';
  if (/database system was (interrupted|not properly shut down)/.test(serverLog)) return 'crash recovery';
  return 'unknown';
}

function serverError(serverLog: string): string | undefined {
  const errors = serverLog.split(/\r?\n/).filter((line) => /\b(FATAL|PANIC|ERROR):/.test(line));
  return errors.length > 0 ? errors.slice(-2).join(' / ') : undefined;
}

function lastLines(output: string): string {
  return output.split(/\r?\n/).filter(Boolean).slice(-3).join(' / ') || '(no output)';
}

function fileSize(file: string): number {
  try {
    return fs.statSync(file).size;
  } catch {
    return 0;
  }
}

function readFrom(file: string, offset: number): string {
  try {
    const fd = fs.openSync(file, 'r');
    try {
      const length = Math.max(0, fs.fstatSync(fd).size - offset);
      const buffer = Buffer.alloc(length);
      fs.readSync(fd, buffer, 0, length, offset);
      return buffer.toString('utf8');
    } finally {
      fs.closeSync(fd);
    }
  } catch {
    return '';
  }
}

/** One older generation is kept (postgres.log.1); the server appends to postgres.log, which it must be able to write. */
function rotateServerLog(cluster: Cluster): void {
  if (fileSize(cluster.serverLog) > SERVER_LOG_ROTATE_BYTES) fs.renameSync(cluster.serverLog, `${cluster.serverLog}.1`);
  fs.closeSync(fs.openSync(cluster.serverLog, 'a', 0o600));
  giveToPostgres(cluster.serverLog, cluster.account);
}

/** As root, PostgreSQL runs as the 'postgres' user, which must be able to enter every folder above its own. */
function assertReachableByPostgresUser(dataDir: string): void {
  for (let dir = path.resolve(dataDir); ; dir = path.dirname(dir)) {
    if (fs.existsSync(dir) && (fs.statSync(dir).mode & 0o001) === 0) {
      throw new Error(
        `the embedded PostgreSQL runs as the 'postgres' user when the agent runs as root, and that user cannot enter ${dir}: put dataDir in a folder others may enter (for example /var/lib/dicom-gateway), or use database.url`,
      );
    }
    if (path.dirname(dir) === dir) return;
  }
}

/**
 * The agent works as a role that owns its database and nothing more: with the password file readable, a superuser
 * could run programs as the database's account (COPY ... TO PROGRAM). Done at every start, as the superuser:
 * clusters made before this split (bootstrap superuser 'gateway') are converted in place, their objects handed to
 * the new unprivileged 'gateway' role; each step is idempotent, so a start cut short is finished by the next.
 */
async function setUpAgentRole(access: { admin: (database: string) => string; legacyAdmin: string; adminPassword: string; password: string }, log: Logger): Promise<void> {
  const { Client } = await import('pg');
  const connect = async (connectionString: string) => {
    const client = new Client({ connectionString });
    await client.connect();
    return client;
  };
  let admin = await connect(access.admin('postgres')).catch(async (err: unknown) => {
    // 28P01 wrong password, 28000 no such role: a cluster whose superuser is still the agent's own role.
    const code = (err as { code?: string }).code;
    if (code !== '28P01' && code !== '28000') throw err;
    log.info('embedded PostgreSQL: giving the agent an unprivileged role (a superuser of its own for setup)');
    const legacy = await connect(access.legacyAdmin);
    try {
      await legacy.query(`DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '${ADMIN_ROLE}') THEN CREATE ROLE ${ADMIN_ROLE} SUPERUSER LOGIN; END IF; END $$`);
      await legacy.query(`ALTER ROLE ${ADMIN_ROLE} SUPERUSER LOGIN PASSWORD ${literal(access.adminPassword)}`);
    } finally {
      await legacy.end();
    }
    return connect(access.admin('postgres'));
  });
  try {
    // oid 10 is the bootstrap superuser, which cannot lose SUPERUSER: renamed and barred from logging in instead.
    const bootstrap = await admin.query<{ rolname: string }>('SELECT rolname FROM pg_roles WHERE oid = 10');
    if (bootstrap.rows[0]?.rolname === ROLE) await admin.query(`ALTER ROLE ${ROLE} RENAME TO ${RETIRED_BOOTSTRAP_ROLE}`);
    await admin.query(`ALTER ROLE ${RETIRED_BOOTSTRAP_ROLE} NOLOGIN PASSWORD NULL`).catch((err: unknown) => {
      if ((err as { code?: string }).code !== '42704') throw err; // no such role: a cluster made since the split
    });
    await admin.query(`DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '${ROLE}') THEN CREATE ROLE ${ROLE}; END IF; END $$`);
    await admin.query(`ALTER ROLE ${ROLE} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS PASSWORD ${literal(access.password)}`);
    const found = await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', [DATABASE_NAME]);
    if (found.rowCount === 0) await admin.query(`CREATE DATABASE ${DATABASE_NAME} OWNER ${ROLE}`);
    else await admin.query(`ALTER DATABASE ${DATABASE_NAME} OWNER TO ${ROLE}`);
  } finally {
    await admin.end();
  }
  admin = await connect(access.admin(DATABASE_NAME));
  try {
    await admin.query(HAND_OBJECTS_TO_AGENT);
  } finally {
    await admin.end();
  }
}

/** Every table (with its indexes and owned sequences), other sequence, view and function in 'public' owned by the agent's role. */
const HAND_OBJECTS_TO_AGENT = `DO $$
DECLARE r record;
BEGIN
  FOR r IN SELECT c.oid::regclass AS name, c.relkind FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
           WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p', 'v', 'm') AND c.relowner <> '${ROLE}'::regrole LOOP
    EXECUTE format('ALTER %s %s OWNER TO ${ROLE}', CASE r.relkind WHEN 'v' THEN 'VIEW' WHEN 'm' THEN 'MATERIALIZED VIEW' ELSE 'TABLE' END, r.name);
  END LOOP;
  FOR r IN SELECT c.oid::regclass AS name FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
           WHERE n.nspname = 'public' AND c.relkind = 'S' AND c.relowner <> '${ROLE}'::regrole LOOP
    EXECUTE format('ALTER SEQUENCE %s OWNER TO ${ROLE}', r.name);
  END LOOP;
  FOR r IN SELECT p.oid::regprocedure AS name, p.prokind FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
           WHERE n.nspname = 'public' AND p.proowner <> '${ROLE}'::regrole LOOP
    EXECUTE format('ALTER %s %s OWNER TO ${ROLE}', CASE r.prokind WHEN 'p' THEN 'PROCEDURE' WHEN 'a' THEN 'AGGREGATE' ELSE 'FUNCTION' END, r.name);
  END LOOP;
END $$`;

/** A password as an SQL string literal (ALTER ROLE takes no parameters); ours are base64url, quoted all the same. */
function literal(text: string): string {
  return `'${text.replace(/'/g, "''")}'`;
}

/**
 * The passwords of the agent's role and of the setup superuser, from the secret store (DPAPI on Windows), made at
 * the first start. Earlier versions kept them in clear-text files: moved into the store, then those files removed.
 */
function databasePasswords(dataDir: string): { password: string; adminPassword: string } {
  const legacyFiles = { 'database.password': path.join(dataDir, 'postgres-password'), 'database.adminPassword': path.join(dataDir, 'postgres-admin-password') };
  const stored = readSecrets(dataDir);
  const made: Partial<Record<SecretName, string>> = {};
  for (const [name, file] of Object.entries(legacyFiles) as Array<[SecretName, string]>) {
    if (stored[name] !== undefined) continue;
    made[name] = fs.existsSync(file) ? fs.readFileSync(file, 'utf8').trim() : crypto.randomBytes(24).toString('base64url');
  }
  if (Object.keys(made).length > 0) writeSecrets(dataDir, made);
  for (const file of Object.values(legacyFiles)) fs.rmSync(file, { force: true });
  const passwords = { ...stored, ...made };
  return { password: passwords['database.password']!, adminPassword: passwords['database.adminPassword']! };
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
