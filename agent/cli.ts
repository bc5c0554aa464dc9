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
import { restrictNewFiles, SETTABLE_SECRET_NAMES } from './config/secrets';
import pg from 'pg';
import { databaseUrlFor } from './db/database-url';
import { requeueFailed } from './upload/queue';
import { requeueFailedHl7 } from './hl7/hl7-queue';
import { testConnectivityCommand } from './connectivity/test-connectivity';
import { isPackaged } from './assets';
import { trayCommand } from '../tray/tray-command';
import { trayTarget } from './config/tray-target';
import { errorMessage } from './errors';

/** A command of the `gateway` program: its options, usage and description are the help text and the parser. */
interface Command {
  name: string;
  /** What follows `gateway <name>` in the usage line. */
  synopsis: string;
  /** One line for the list of commands, then more for the command's own --help. */
  summary: string;
  details?: string;
  /** Its exit codes, when they say more than 0 success, 1 failure, 2 usage error. */
  exitCodes?: string;
  /** Parses the arguments (a UsageError when they are wrong) and runs the command; resolves to the exit code. */
  run(args: string[]): Promise<number> | number;
}

type OptionSpec = Record<string, { type: 'string' | 'boolean' }>;

/**
 * A table entry whose `run` receives the values of exactly these options, parsed strictly, and the words that are not
 * options when the command takes any (`positionals`; otherwise a word is a usage error).
 */
function command<T extends OptionSpec>(
  spec: Omit<Command, 'run'> & { options: T; positionals?: boolean; run(values: ReturnType<typeof parse<T>>['values'], positionals: string[]): Promise<number> | number },
): Command {
  return {
    ...spec,
    run: (args) => {
      const { values, positionals } = parse(args, spec.options, spec.positionals ?? false);
      return spec.run(values, positionals);
    },
  };
}

const CONFIG = { config: { type: 'string' } } as const;

/** Every command, in the order the help lists them. */
const COMMANDS: Command[] = [
  command({
    name: 'run',
    synopsis: '[--config FILE]',
    summary: 'Run the agent: receive DICOM, keep it safe on disk',
    details: 'Runs until SIGINT/SIGTERM: in-flight associations finish, then the agent stops; a second signal forces the exit.',
    options: CONFIG,
    run: runCommand,
  }),
  command({
    name: 'stop',
    synopsis: '[--config FILE] [--timeout SECONDS]',
    summary: 'Stop the running agent in order (waits until it and its database stopped)',
    details: 'Waits up to --timeout seconds (default 120).',
    options: { ...CONFIG, timeout: { type: 'string' } },
    run: stopCommand,
  }),
  command({
    name: 'init',
    synopsis: '--ae-title TITLE [--port N] [--data-dir DIR] [--config FILE] [--force]',
    summary: 'Write a configuration file',
    details: 'The AE title is the licensed one, exactly as issued (case-sensitive). --force overwrites an existing file.',
    options: { 'ae-title': { type: 'string' }, port: { type: 'string' }, 'data-dir': { type: 'string' }, ...CONFIG, force: { type: 'boolean' } },
    run: initCommand,
  }),
  command({
    name: 'status',
    synopsis: '[--config FILE] [--json]',
    summary: 'Show the state (green/amber/red and why) and what the gateway holds',
    details:
      'Asks the running agent (its local API: what the tray and the status page show); when it is not running, reads\nthe database instead and says so. --json prints the same shape either way.',
    exitCodes: '0 the agent runs, 1 failure, 2 usage error, 3 agent not running',
    options: { ...CONFIG, json: { type: 'boolean' } },
    run: statusCommand,
  }),
  command({
    name: 'test-connectivity',
    synopsis: '[--config FILE] [--json]',
    summary: 'Check DNS, TCP, TLS, C-ECHO / HTTPS to the cloud and the upload rate',
    exitCodes: '0 no step failed, 1 a step failed (or the configuration is bad), 2 usage error',
    options: { ...CONFIG, json: { type: 'boolean' } },
    run: (values) => testConnectivityCommand(values),
  }),
  command({
    name: 'retry',
    synopsis: '(--study UID | --all) [--config FILE]',
    summary: 'Queue failed uploads again (one study, or all; --all also failed HL7 messages and reports)',
    options: { ...CONFIG, study: { type: 'string' }, all: { type: 'boolean' } },
    run: retryCommand,
  }),
  command({
    name: 'echo',
    synopsis: '[--config FILE] [--host H] [--port N] [--ae-title TITLE]',
    summary: 'Send a C-ECHO to the gateway (checks the AE title)',
    options: { ...CONFIG, host: { type: 'string' }, port: { type: 'string' }, 'ae-title': { type: 'string' } },
    run: echoCommand,
  }),
  command({
    name: 'doctor',
    synopsis: '[--config FILE] [--json]',
    summary: 'Check this computer (PowerShell module DicomGateway)',
    details:
      "Prerequisites, firewall rule, antivirus exclusions, BitLocker, power policy. The DICOM port and data folder come\nfrom the configuration (--config, else the default file if it exists, else the module's defaults).",
    exitCodes: '0 nothing failed, 1 a check failed (or the configuration is bad), 2 usage error, 4 PowerShell not available',
    options: { ...CONFIG, json: { type: 'boolean' } },
    run: (values) => doctorCommand(values),
  }),
  command({
    name: 'secret',
    synopsis: '(set NAME | list) [--config FILE]',
    summary: 'Store the cloud token, proxy password or database password protected (value on stdin)',
    details: [
      'set NAME reads the value from standard input (first line); list prints the names stored (never the values).',
      `Names: ${SETTABLE_SECRET_NAMES.join(', ')}. They are stored in <dataDir>/secrets.json: on Windows protected`,
      'with DPAPI (this computer only; run as administrator), elsewhere in a file only this user may read.',
      'A stored value wins over one in gateway.json (database.password fills a database.url without one, or is the',
      "embedded database's: the agent sets its role to it at start). Restart the agent for it to take a new value.",
    ].join('\n'),
    options: CONFIG,
    positionals: true,
    run: (values, words) => secretCommand(values, words),
  }),
  command({
    name: 'tray',
    synopsis: '[--config FILE | --data-dir DIR]',
    summary: "The tray icon: the agent's state, pause/resume, checks, status page",
    options: { ...CONFIG, 'data-dir': { type: 'string' } },
    run: trayCliCommand,
  }),
  command({
    name: 'version',
    synopsis: '',
    summary: 'Print the version',
    options: {},
    run: () => {
      console.log(VERSION);
      return 0;
    },
  }),
];

const SUMMARY_COLUMN = 40;

function helpText(): string {
  const list = COMMANDS.flatMap(({ name, synopsis, summary }) => {
    const usage = `  ${name.padEnd(8)} ${synopsis}`;
    return usage.length < SUMMARY_COLUMN ? [`${usage.padEnd(SUMMARY_COLUMN)}${summary}`] : [usage, `${''.padEnd(SUMMARY_COLUMN)}${summary}`];
  });
  return `gateway ${VERSION} - DICOM cloud gateway

Usage: gateway <command> [options]       gateway <command> --help: that command's usage

Commands:
${list.join('\n')}
  help, --help                          This text
  (no command)                          On a desktop, with a configuration in its default place: the agent
                                        and the tray together (demo); Quit in the tray menu stops both

The configuration file defaults to $GATEWAY_CONFIG, else ${defaultConfigPath()}.
Exit status: 0 success, 1 failure, 2 usage error, 3 agent not running (status),
4 PowerShell not available (doctor).`;
}

function commandHelp(command: Command): string {
  return [
    `Usage: gateway ${command.name}${command.synopsis ? ` ${command.synopsis}` : ''}`,
    '',
    command.summary,
    ...(command.details ? [command.details] : []),
    '',
    ...(command.synopsis.includes('--config') ? [`The configuration file defaults to $GATEWAY_CONFIG, else ${defaultConfigPath()}.`] : []),
    `Exit status: ${command.exitCodes ?? '0 success, 1 failure, 2 usage error'}.`,
  ].join('\n');
}

class UsageError extends Error {}

/** Runs one CLI command; resolves to the process exit code. */
export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  restrictNewFiles();
  try {
    const command = COMMANDS.find((c) => c.name === name);
    if (command) {
      if (rest.includes('--help') || rest.includes('-h')) {
        console.log(commandHelp(command));
        return 0;
      }
      return await command.run(rest);
    }
    switch (name) {
      case '--version':
        console.log(VERSION);
        return 0;
      case undefined:
        return await desktopCommand();
      case 'help':
      case '--help':
      case '-h':
        console.log(helpText());
        return 0;
      default:
        throw new UsageError(`unknown command ${JSON.stringify(name)}`);
    }
  } catch (err) {
    if (err instanceof UsageError) {
      console.error(`gateway: ${err.message}\nRun 'gateway ${COMMANDS.some((c) => c.name === name) ? `${name} ` : ''}--help' for usage.`);
      return 2;
    }
    if (err instanceof ConfigError) {
      console.error(`gateway: ${err.message}`);
      return 1;
    }
    console.error(`gateway: ${errorMessage(err)}`);
    return 1;
  }
}

function parse<T extends OptionSpec>(args: string[], options: T, allowPositionals: boolean) {
  try {
    return parseArgs({ args, options, strict: true, allowPositionals });
  } catch (err) {
    throw new UsageError(errorMessage(err));
  }
}

async function runCommand(values: { config?: string }): Promise<number> {
  const config = loadConfig(values.config ?? defaultConfigPath());
  return runAgentUntilSignalled(config);
}

async function stopCommand(values: { config?: string; timeout?: string }): Promise<number> {
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

function initCommand(values: { 'ae-title'?: string; port?: string; 'data-dir'?: string; config?: string; force?: boolean }): number {
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
  console.log(
    `Wrote ${file}\n  AE title ${aeTitle} (case-sensitive; the alias GATEWAY is accepted too), port ${port}\n  data folder ${dataDir}\n${LOSSY_NOTICE}\nStart the agent with: gateway run --config ${JSON.stringify(file)}`,
  );
  return 0;
}

async function statusCommand(values: { config?: string; json?: boolean }): Promise<number> {
  const config = loadConfig(values.config ?? defaultConfigPath());
  const status = await readStatus(config);
  console.log(values.json ? JSON.stringify(status, null, 2) : formatStatus(status));
  return status.agent.running ? 0 : 3;
}

async function retryCommand(values: { config?: string; study?: string; all?: boolean }): Promise<number> {
  if (!values.study === !values.all) throw new UsageError('retry needs either --study UID or --all');
  const config = loadConfig(values.config ?? defaultConfigPath());
  const url = databaseUrlFor(config);
  if (!url) throw new Error('the embedded database runs only while the agent runs: start it (gateway run), then retry');
  const pool = new pg.Pool({ connectionString: url, max: 1 });
  try {
    const count = await requeueFailed(pool, values.study);
    console.log(`${count} failed instance${count === 1 ? '' : 's'} queued again${values.study ? ` for study ${values.study}` : ''}`);
    if (values.all && config.hl7) {
      const hl7 = await requeueFailedHl7(pool);
      console.log(`${hl7} failed HL7 message${hl7 === 1 ? '' : 's'} and report${hl7 === 1 ? '' : 's'} queued again`);
    }
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
    console.log(helpText());
    return 2;
  }
  const config = loadConfig(file);
  const tray = trayCommand({ dataDir: config.dataDir, apiPort: config.api.port, packaged: isPackaged() });
  const [agentCode, trayCode] = await Promise.all([runAgentUntilSignalled(config, tray), tray]);
  return agentCode || trayCode;
}

async function trayCliCommand(values: { config?: string; 'data-dir'?: string }): Promise<number> {
  return trayCommand({ ...trayTarget(values.config ?? defaultConfigPath(), values['data-dir']), packaged: isPackaged() });
}

async function echoCommand(values: { config?: string; host?: string; port?: string; 'ae-title'?: string }): Promise<number> {
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
  void main(argv).then((code) => {
    process.exitCode = code;
    setTimeout(() => process.exit(code), 3000).unref();
  });
}

if (require.main === module) runCli(process.argv.slice(2));
