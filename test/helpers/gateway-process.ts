import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { freePort } from '../../agent/db/embedded-postgres';
import { postgresAccount, postgresToolPath } from '../../agent/db/postgres-tools';

export const REPO_ROOT = path.resolve(__dirname, '..', '..');
export const GATEWAY_BIN = path.join(REPO_ROOT, 'bin', 'gateway.js');

export interface GatewayOptions {
  dataDir: string;
  /** A database URL, or 'embedded' for the agent's own PostgreSQL. */
  database: string;
  aeTitle?: string;
  port?: number;
  /** Further configuration keys, merged over the defaults. */
  config?: Record<string, unknown>;
  /** Extra flags for node itself (e.g. --cpu-prof). */
  nodeArgs?: string[];
  /** Runs the agent on this many of the test machine's CPUs (taskset), as on a PC with that many cores. */
  cpus?: number;
}

export interface GatewayProcess {
  pid: number;
  port: number;
  /** The local API's port (a free one unless the configuration names api.port), from the agent's runtime file. */
  apiPort: number;
  aeTitle: string;
  dataDir: string;
  configFile: string;
  child: ChildProcess;
  /** Everything the agent printed so far (JSON log lines). */
  output(): string;
  /** Parsed log lines so far. */
  logLines(): Array<Record<string, unknown>>;
  waitForLog(pattern: RegExp, timeoutMs?: number): Promise<void>;
  /** SIGTERM and wait: resolves to the exit code. */
  stop(): Promise<number | null>;
  /** SIGKILL and wait (a crash). */
  kill(): Promise<void>;
  /** SIGKILL to the agent's whole process group (it runs in its own, as under a service manager) and wait. */
  killGroup(): Promise<void>;
}

/** Writes a configuration and runs `gateway run` as a child process, as a service manager would. */
export async function startGateway(options: GatewayOptions): Promise<GatewayProcess> {
  const port = options.port ?? (await freePort());
  const aeTitle = options.aeTitle ?? 'TEST_GW';
  fs.mkdirSync(options.dataDir, { recursive: true });
  const configFile = path.join(options.dataDir, 'gateway.json');
  const config = {
    aeTitle,
    port,
    bindAddress: '127.0.0.1',
    dataDir: options.dataDir,
    database: options.database === 'embedded' ? {} : { url: options.database },
    limits: { minFreeDiskMb: 64 },
    // Tests look at what the agent kept: no purge for a test machine's modest free space.
    retention: { freeDiskTargetMb: 0 },
    // A free port, so that agents of tests running side by side do not meet on 4180.
    api: { port: 0 },
    ...options.config,
  };
  fs.writeFileSync(configFile, JSON.stringify(config, null, 2));
  return launchGateway(configFile, port, aeTitle, options.dataDir, options.nodeArgs, options.cpus);
}

/**
 * Data folders of agents this test file started. An agent killed like a crash leaves its embedded PostgreSQL
 * running (as it would on a PC, for the next start to stop): when the test process ends, such servers are stopped.
 */
const launchedDataDirs = new Set<string>();
const runningAgents = new Set<ChildProcess>();
// Before temp-dir's own exit hook removes the folders the servers run in.
process.prependOnceListener('exit', () => {
  for (const child of runningAgents) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  for (const dataDir of launchedDataDirs) {
    const databaseDir = path.join(path.resolve(dataDir), 'postgres');
    if (!fs.existsSync(path.join(databaseDir, 'postmaster.pid'))) continue;
    const account = postgresAccount();
    spawnSync(postgresToolPath('pg_ctl'), ['stop', '-D', databaseDir, '-m', 'immediate', '-w'], { stdio: 'ignore', uid: account.uid, gid: account.gid });
  }
});

/** Runs `gateway run` on an existing configuration (a restart after a crash). */
export function launchGateway(configFile: string, port: number, aeTitle: string, dataDir: string, nodeArgs: string[] = [], cpus?: number): Promise<GatewayProcess> {
  launchedDataDirs.add(dataDir);
  const command = [process.execPath, ...nodeArgs, GATEWAY_BIN, 'run', '--config', configFile];
  // taskset execs node in place (same pid); os.availableParallelism() in the agent follows the affinity.
  const pinned = cpus === undefined ? command : ['taskset', '-c', allowedCpus().slice(0, cpus).join(','), ...command];
  const child = spawn(pinned[0], pinned.slice(1), { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  runningAgents.add(child);
  let output = '';
  const listeners = new Set<() => void>();
  const take = (data: Buffer) => {
    output += data.toString();
    for (const listener of listeners) listener();
  };
  child.stdout!.on('data', take);
  child.stderr!.on('data', take);
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));

  const waitForLog = (pattern: RegExp, timeoutMs = 60000) =>
    new Promise<void>((resolve, reject) => {
      const check = () => {
        if (pattern.test(output)) {
          cleanup();
          resolve();
        }
      };
      const timer = setTimeout(() => {
        cleanup();
        reject(new Error(`gateway did not log ${pattern} within ${timeoutMs} ms; output:\n${output.slice(-4000)}`));
      }, timeoutMs);
      const onExit = () => {
        cleanup();
        reject(new Error(`gateway exited (code ${child.exitCode}) before logging ${pattern}; output:\n${output.slice(-4000)}`));
      };
      const cleanup = () => {
        clearTimeout(timer);
        listeners.delete(check);
        child.off('exit', onExit);
      };
      listeners.add(check);
      child.once('exit', onExit);
      check();
    });

  const gateway: GatewayProcess = {
    pid: child.pid!,
    port,
    apiPort: 0,
    aeTitle,
    dataDir,
    configFile,
    child,
    output: () => output,
    logLines: () =>
      output
        .split('\n')
        .filter((line) => line.startsWith('{'))
        .map((line) => JSON.parse(line) as Record<string, unknown>),
    waitForLog,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
      child.kill('SIGTERM');
      return exited;
    },
    async kill() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGKILL');
      await exited;
    },
    async killGroup() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      process.kill(-child.pid!, 'SIGKILL');
      await exited;
    },
  };
  return waitForLog(/"message":"agent ready"/).then(
    () => {
      gateway.apiPort = JSON.parse(fs.readFileSync(path.join(dataDir, 'agent.json'), 'utf8')).apiPort;
      return gateway;
    },
    async (err) => {
      await gateway.kill();
      throw err;
    },
  );
}

/** The CPUs this process may run on (Cpus_allowed_list, e.g. "0-3,8"). */
function allowedCpus(): number[] {
  const list = /^Cpus_allowed_list:\s*(\S+)$/m.exec(fs.readFileSync('/proc/self/status', 'utf8'))![1];
  return list.split(',').flatMap((range) => {
    const [first, last = first] = range.split('-').map(Number);
    return Array.from({ length: last - first + 1 }, (_, i) => first + i);
  });
}
