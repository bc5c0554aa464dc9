import fs from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { aeTitleProblem } from './config/ae-title';
import { ConfigError, initialConfig, loadConfig } from './config/config';
import { defaultConfigPath, defaultDataDir } from './config/paths';
import { VERSION } from './version';
import { runAgentUntilSignalled } from './agent';
import { stopRunningAgent } from './stop-agent';
import { formatStatus, readStatus } from './status';
import { echo } from './dicom/verification';
import { connectDirect } from './upload/proxy-tunnel';
import { doctorCommand } from './host/doctor';
import { secretCommand } from './config/secret-command';
import { restrictNewFiles } from './config/secrets';
import pg from 'pg';
import { databaseUrlFor } from './db/database-url';
import { requeueFailed } from './upload/queue';
import { testConnectivityCommand } from './connectivity/test-connectivity';
import { isPackaged } from './assets';
import { trayCommand } from '../tray/tray-command';
import { trayTarget } from './config/tray-target';

const HELP = `gateway ${VERSION} - DICOM cloud gateway

Usage: gateway <command> [options]

Commands:
  run      [--config FILE]              Run the agent: receive DICOM, keep it safe on disk
  stop     [--config FILE] [--timeout SECONDS]
                                        Stop the running agent in order (waits until it and its database stopped)
  init     --ae-title TITLE [--port N] [--data-dir DIR] [--config FILE] [--force]
                                        Write a configuration file
  status   [--config FILE] [--json]     Show whether the agent runs and what it holds
  test-connectivity [--config FILE] [--json]
                                        Check DNS, TCP, TLS, C-ECHO / HTTPS to the cloud and the upload rate
  retry    (--study UID | --all) [--config FILE]
                                        Queue failed uploads again (one study, or all)
  echo     [--config FILE] [--host H] [--port N] [--ae-title TITLE]
                                        Send a C-ECHO to the gateway (checks the AE title)
  doctor   [--config FILE] [--json]     Check this computer (PowerShell module DicomGateway)
  secret   (set NAME | list) [--config FILE]
                                        Store the cloud token or proxy password protected (value on stdin)
  tray     [--config FILE | --data-dir DIR]
                                        The tray icon: the agent's state, pause/resume, checks, status page
  version                               Print the version
  help, --help                          This text
  (no command)                          On a desktop, with a configuration in its default place: the agent
                                        and the tray together (demo); Quit in the tray menu stops both

The configuration file defaults to $GATEWAY_CONFIG, else ${defaultConfigPath()}.
Exit status: 0 success, 1 failure, 2 usage error, 3 agent not running (status),
4 PowerShell not available (doctor).`;

class UsageError extends Error {}

/** Runs one CLI command; resolves to the process exit code. */
export async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  restrictNewFiles();
  try {
    switch (command) {
      case 'run':
        return await runCommand(rest);
      case 'stop':
        return await stopCommand(rest);
      case 'init':
        return initCommand(rest);
      case 'status':
        return await statusCommand(rest);
      case 'echo':
        return await echoCommand(rest);
      case 'test-connectivity':
        return await testConnectivityCommand(rest);
      case 'retry':
        return await retryCommand(rest);
      case 'doctor':
        return await doctorCommand(rest);
      case 'secret':
        return await secretCommand(rest);
      case 'tray':
        return await trayCliCommand(rest);
      case 'version':
      case '--version':
        console.log(VERSION);
        return 0;
      case undefined:
        return await desktopCommand();
      case 'help':
      case '--help':
      case '-h':
        console.log(HELP);
        return 0;
      default:
        throw new UsageError(`unknown command ${JSON.stringify(command)}`);
    }
  } catch (err) {
    if (err instanceof UsageError) {
      console.error(`gateway: ${err.message}\nRun 'gateway --help' for usage.`);
      return 2;
    }
    if (err instanceof ConfigError) {
      console.error(`gateway: ${err.message}`);
      return 1;
    }
    console.error(`gateway: ${(err as Error).message}`);
    return 1;
  }
}

function parse<T extends Record<string, { type: 'string' | 'boolean' }>>(args: string[], options: T) {
  try {
    return parseArgs({ args, options, strict: true, allowPositionals: false }).values;
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
}

async function runCommand(args: string[]): Promise<number> {
  const values = parse(args, { config: { type: 'string' } });
  const config = loadConfig(values.config ?? defaultConfigPath());
  return runAgentUntilSignalled(config);
}

async function stopCommand(args: string[]): Promise<number> {
  const values = parse(args, { config: { type: 'string' }, timeout: { type: 'string' } });
  const seconds = values.timeout === undefined ? 120 : Number(values.timeout);
  if (!Number.isInteger(seconds) || seconds < 1) throw new UsageError('--timeout must be a whole number of seconds');
  const config = loadConfig(values.config ?? defaultConfigPath());
  const stopped = await stopRunningAgent(config, seconds * 1000);
  console.log(stopped ? `the agent (pid ${stopped.pid}) stopped` : 'the agent is not running');
  return 0;
}

/** `init` explains the compression default and what turning lossy on means (the model product shows this at install). */
const LOSSY_NOTICE = [
  '  compression: lossless JPEG-LS for uncompressed images (verified pixel for pixel before upload); compressed data is sent as received',
  '  Lossy compression is OFF. Lossy images lose detail for good and may not be fit for primary diagnosis: only the',
  '  practice can accept that, per modality. To allow lossy rules, set compression.lossyOptIn to true and add a rule',
  '  with "action": "lossy" (see README, Compression); rules are reloaded while the agent runs.',
].join('\n');

function initCommand(args: string[]): number {
  const values = parse(args, {
    'ae-title': { type: 'string' },
    port: { type: 'string' },
    'data-dir': { type: 'string' },
    config: { type: 'string' },
    force: { type: 'boolean' },
  });
  const aeTitle = values['ae-title'];
  if (aeTitle === undefined) throw new UsageError('init needs --ae-title (the licensed AE title, exactly as issued: it is case-sensitive)');
  const problem = aeTitleProblem(aeTitle);
  if (problem) throw new UsageError(`AE title ${JSON.stringify(aeTitle)} ${problem}`);
  const port = values.port === undefined ? 4104 : Number(values.port);
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new UsageError(`--port must be a whole number from 1 to 65535`);
  const file = path.resolve(values.config ?? defaultConfigPath());
  if (fs.existsSync(file) && !values.force) throw new ConfigError(`${file} already exists; use --force to overwrite it`);
  const dataDir = path.resolve(values['data-dir'] ?? defaultDataDir(file));
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, `${JSON.stringify(initialConfig(aeTitle, port, dataDir), null, 2)}\n`);
  console.log(`Wrote ${file}\n  AE title ${aeTitle} (case-sensitive; the alias GATEWAY is accepted too), port ${port}\n  data folder ${dataDir}\n${LOSSY_NOTICE}\nStart the agent with: gateway run --config ${JSON.stringify(file)}`);
  return 0;
}

async function statusCommand(args: string[]): Promise<number> {
  const values = parse(args, { config: { type: 'string' }, json: { type: 'boolean' } });
  const config = loadConfig(values.config ?? defaultConfigPath());
  const status = await readStatus(config);
  console.log(values.json ? JSON.stringify(status, null, 2) : formatStatus(status));
  return status.agent.running ? 0 : 3;
}

async function retryCommand(args: string[]): Promise<number> {
  const values = parse(args, { config: { type: 'string' }, study: { type: 'string' }, all: { type: 'boolean' } });
  if (!values.study === !values.all) throw new UsageError('retry needs either --study UID or --all');
  const config = loadConfig(values.config ?? defaultConfigPath());
  const url = databaseUrlFor(config);
  if (!url) throw new Error('the embedded database runs only while the agent runs: start it (gateway run), then retry');
  const pool = new pg.Pool({ connectionString: url, max: 1 });
  try {
    const count = await requeueFailed(pool, values.study);
    console.log(`${count} failed instance${count === 1 ? '' : 's'} queued again${values.study ? ` for study ${values.study}` : ''}`);
    return 0;
  } finally {
    await pool.end();
  }
}

/**
 * `gateway` with no verb: on a desktop with a configuration in its default place, the agent and the tray in one
 * process (demo and development; Quit in the tray menu stops both). Anywhere else, the help.
 */
async function desktopCommand(): Promise<number> {
  const file = defaultConfigPath();
  const desktop = process.platform === 'win32' || Boolean(process.env.DISPLAY || process.env.WAYLAND_DISPLAY);
  if (!desktop || !fs.existsSync(file)) {
    console.log(HELP);
    return 2;
  }
  const config = loadConfig(file);
  const tray = trayCommand({ dataDir: config.dataDir, apiPort: config.api.port, packaged: isPackaged() });
  const [agentCode, trayCode] = await Promise.all([runAgentUntilSignalled(config, tray), tray]);
  return agentCode || trayCode;
}

async function trayCliCommand(args: string[]): Promise<number> {
  const values = parse(args, { config: { type: 'string' }, 'data-dir': { type: 'string' } });
  return trayCommand({ ...trayTarget(values.config ?? defaultConfigPath(), values['data-dir']), packaged: isPackaged() });
}

async function echoCommand(args: string[]): Promise<number> {
  const values = parse(args, { config: { type: 'string' }, host: { type: 'string' }, port: { type: 'string' }, 'ae-title': { type: 'string' } });
  const config = values.port && values['ae-title'] ? undefined : loadConfig(values.config ?? defaultConfigPath());
  const host = values.host ?? '127.0.0.1';
  const port = values.port ? Number(values.port) : config!.port;
  const calledAe = values['ae-title'] ?? config!.aeTitle;
  const started = Date.now();
  const timeoutMs = 10_000;
  const socket = await connectDirect({ host, port }, timeoutMs);
  await echo(socket, { calledAe, callingAe: 'GATEWAY-CLI', timeoutMs }, { peer: `${calledAe}@${host}:${port}` });
  console.log(`C-ECHO to ${calledAe}@${host}:${port} succeeded in ${Date.now() - started} ms`);
  return 0;
}

/**
 * The process entry (bin/gateway.js, the packaged executable): the exit code is the command's, on every platform.
 * A handle something forgot to close may not keep a finished command (a failed `run` above all) alive.
 */
export function runCli(argv: string[]): void {
  main(argv).then((code) => {
    process.exitCode = code;
    setTimeout(() => process.exit(code), 3000).unref();
  });
}

if (require.main === module) runCli(process.argv.slice(2));
