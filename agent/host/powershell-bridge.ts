// The PowerShell bridge: runs functions of the DicomGateway module (powershell/DicomGateway) in a real
// PowerShell through the npm package node-powershell and reads their results as JSON. `gateway doctor`
// and the tray use it; the module itself stays the one place that knows how to check Windows.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PowerShell } from 'node-powershell';
import { isPackaged } from '../assets';

export type CheckStatus = 'Pass' | 'Warn' | 'Fail' | 'NotApplicable';

/** One result object of a DicomGateway function (see powershell/README.md, "Conventions"). */
export interface CheckResult {
  Name: string;
  Status: CheckStatus;
  Detail: string;
  Requirement: string;
  /** Results of a change also carry Changed (boolean) and Previous. */
  [key: string]: unknown;
}

export type ParamValue = string | number | boolean;

export const NOT_AVAILABLE_HINT = 'install PowerShell 7 or run on Windows';

/** No PowerShell to run: its message is always "PowerShell not available: <hint>". */
export class PowerShellNotAvailableError extends Error {
  constructor(readonly hint: string = NOT_AVAILABLE_HINT) {
    super(`PowerShell not available: ${hint}`);
    this.name = 'PowerShellNotAvailableError';
  }
}

/** PowerShell ran but a module function could not give results: the module is missing, it threw, it timed out. */
export class PowerShellBridgeError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PowerShellBridgeError';
  }
}

export interface BridgeOptions {
  /** Limit for starting PowerShell and importing the module, and again for each function. Default 60 s. */
  timeoutMs?: number;
}

const DEFAULT_TIMEOUT_MS = 60_000;
const STATUSES: readonly string[] = ['Pass', 'Warn', 'Fail', 'NotApplicable'];
const FUNCTION_NAME = /^[A-Z][a-zA-Z]+-DicomGateway[A-Za-z]*$/;
const PARAMETER_NAME = /^[A-Za-z][A-Za-z0-9]*$/;
/** Starts the line that carries a function's JSON, so that warnings or other host output around it do not matter. */
const JSON_MARKER = 'DGW-BRIDGE-JSON:';

/**
 * The PowerShell executable to run. On Windows only by absolute path, as the agent (a service) and an
 * elevated `gateway doctor` run it with rights a user's PATH or profile must not borrow: $GATEWAY_PWSH
 * when it is an absolute path, else Windows PowerShell in System32. Elsewhere (development, Linux):
 * $GATEWAY_PWSH (a path, or a name looked up on PATH; nothing else is tried then), else `pwsh` on PATH,
 * else ~/.dotnet/tools/pwsh (the .NET global tool). Throws PowerShellNotAvailableError.
 */
export function findPowerShell(env: NodeJS.ProcessEnv = process.env, platform: NodeJS.Platform = process.platform): string {
  const override = env.GATEWAY_PWSH;
  if (platform === 'win32') {
    if (override && !path.win32.isAbsolute(override)) throw new PowerShellNotAvailableError(`GATEWAY_PWSH is ${JSON.stringify(override)}; on Windows it must be an absolute path`);
    const windowsPowerShell = path.join(env.SystemRoot ?? 'C:\\Windows', 'System32', 'WindowsPowerShell', 'v1.0', 'powershell.exe');
    const found = executableFile(override ?? windowsPowerShell);
    if (found) return found;
    throw new PowerShellNotAvailableError(`${override ? `GATEWAY_PWSH is ${JSON.stringify(override)}, which` : windowsPowerShell} is not an executable file; ${NOT_AVAILABLE_HINT}`);
  }
  if (override) {
    const found = override.includes('/') ? executableFile(path.resolve(override)) : findOnPath(override, env);
    if (found) return found;
    throw new PowerShellNotAvailableError(`GATEWAY_PWSH is ${JSON.stringify(override)}, which is not an executable file; ${NOT_AVAILABLE_HINT}`);
  }
  const candidates = [() => findOnPath('pwsh', env), () => executableFile(path.join(os.homedir(), '.dotnet', 'tools', 'pwsh'))];
  for (const candidate of candidates) {
    const found = candidate();
    if (found) return found;
  }
  throw new PowerShellNotAvailableError();
}

function executableFile(file: string): string | undefined {
  try {
    if (!fs.statSync(file).isFile()) return undefined;
    if (process.platform !== 'win32') fs.accessSync(file, fs.constants.X_OK);
    return file;
  } catch {
    return undefined;
  }
}

/** Development and Linux only: Windows never looks PowerShell up on PATH. */
function findOnPath(name: string, env: NodeJS.ProcessEnv): string | undefined {
  for (const dir of (env.PATH ?? '').split(path.delimiter)) {
    const found = dir ? executableFile(path.join(dir, name)) : undefined;
    if (found) return found;
  }
  return undefined;
}

/**
 * The manifest of the DicomGateway module, in one place only: when packaged, <dir of gateway.exe>/powershell/
 * DicomGateway (the install folder, which users cannot write; never a folder above it, which they may
 * create), else the repository's powershell/DicomGateway.
 */
export function findModuleManifest(packaged: boolean = isPackaged(), executable: string = process.execPath): string {
  const dir = packaged ? path.join(path.dirname(executable), 'powershell', 'DicomGateway') : path.join(__dirname, '..', '..', 'powershell', 'DicomGateway');
  const manifest = path.join(dir, 'DicomGateway.psd1');
  if (!fs.existsSync(manifest)) throw new PowerShellBridgeError(`the PowerShell module DicomGateway was not found: there is no ${manifest}`);
  return manifest;
}

/**
 * A PowerShell literal for a string. Plain ASCII goes in single quotes ('' for '); anything else is
 * decoded from base64 in PowerShell, so that no character (curly quotes included, which PowerShell also
 * takes as quotes) can end the literal and the command stays ASCII whatever the console code page.
 */
export function quotePowerShellString(value: string): string {
  if (/^[\x20-\x7e]*$/.test(value)) return `'${value.replace(/'/g, "''")}'`;
  return `([System.Text.Encoding]::UTF8.GetString([System.Convert]::FromBase64String('${Buffer.from(value, 'utf8').toString('base64')}')))`;
}

/** `-Name:value` for each parameter; booleans become `-Name:$true`/`-Name:$false` (switches included). */
export function formatParameters(params: Record<string, ParamValue> = {}): string {
  return Object.entries(params)
    .map(([name, value]) => {
      if (!PARAMETER_NAME.test(name)) throw new PowerShellBridgeError(`invalid PowerShell parameter name ${JSON.stringify(name)}`);
      if (typeof value === 'boolean') return `-${name}:$${value}`;
      if (typeof value === 'number') {
        if (!Number.isFinite(value)) throw new PowerShellBridgeError(`parameter ${name} is ${value}, not a finite number`);
        return `-${name}:${value}`;
      }
      if (typeof value === 'string') return `-${name}:${quotePowerShellString(value)}`;
      throw new PowerShellBridgeError(`parameter ${name} must be a string, number or boolean`);
    })
    .join(' ');
}

/** The one line that runs a module function and writes its results as marked, ASCII-only JSON. */
export function functionCommand(name: string, params: Record<string, ParamValue> = {}): string {
  if (!FUNCTION_NAME.test(name)) throw new PowerShellBridgeError(`${JSON.stringify(name)} is not a DicomGateway function name`);
  const call = `${name} ${formatParameters(params)}`.trim();
  // Non-ASCII characters are written as \uXXXX so the output does not depend on the console encoding.
  return (
    `$dgwJson = ConvertTo-Json -Depth 4 -Compress -InputObject @(${call}); ` +
    `[Console]::Out.WriteLine('${JSON_MARKER}' + [regex]::Replace([string]$dgwJson, '[^\\x00-\\x7F]', { param($m) '\\u{0:x4}' -f [int][char]$m.Value }))`
  );
}

function importCommand(modulePath: string): string {
  // First, before anything can autoload: only PowerShell's own modules (and Windows' in System32), never
  // the user's module folders, where a module named like a built-in command would be loaded in its place.
  return (
    `$env:PSModulePath = (@([System.IO.Path]::Combine($PSHOME, 'Modules')) + @(if ($env:SystemRoot) { [System.IO.Path]::Combine($env:SystemRoot, 'System32', 'WindowsPowerShell', 'v1.0', 'Modules') })) -join [System.IO.Path]::PathSeparator; ` +
    `$ProgressPreference = 'SilentlyContinue'; ` +
    `if ($PSStyle) { $PSStyle.OutputRendering = 'PlainText' }; ` +
    `Import-Module -Name ${quotePowerShellString(modulePath)} -Force -ErrorAction Stop; ` +
    `[Console]::Out.WriteLine('${JSON_MARKER}' + (ConvertTo-Json -Compress -InputObject @($PSVersionTable.PSVersion.ToString(), (Get-Module -Name DicomGateway).Version.ToString())))`
  );
}

/** One running PowerShell with the module imported; run module functions one after the other. */
export interface ModuleSession {
  readonly executable: string;
  readonly modulePath: string;
  /** PowerShell's version and the module's, as PowerShell reports them. */
  readonly powerShellVersion: string;
  readonly moduleVersion: string;
  run(name: string, params?: Record<string, ParamValue>): Promise<CheckResult[]>;
}

/**
 * Starts PowerShell, imports the module, hands a session to `work`, and always stops PowerShell after.
 * Rejects with PowerShellNotAvailableError when there is no PowerShell to start.
 */
export async function withModuleSession<T>(work: (session: ModuleSession) => Promise<T>, options: BridgeOptions = {}): Promise<T> {
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const executable = findPowerShell();
  const modulePath = findModuleManifest();
  // node-powershell spawns at construction. NODE_POWERSHELL, if set, replaces the executable given here.
  const shell = new PowerShell({
    executable,
    executableOptions: {
      '-NoProfile': true,
      '-NonInteractive': true,
      ...(process.platform === 'win32' ? { '-ExecutionPolicy': 'Bypass' } : {}),
    },
    throwOnInvocationError: false,
  });
  let stopped: string | undefined;
  const invoke = async (command: string, what: string): Promise<{ json: unknown; stdout: string; stderr: string }> => {
    if (stopped) throw new PowerShellBridgeError(`${what}: PowerShell was stopped earlier (${stopped})`);
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new PowerShellBridgeError(`${what} did not finish within ${timeoutMs / 1000} s; PowerShell (${executable}) was stopped`)), timeoutMs);
    });
    let result;
    try {
      result = await Promise.race([shell.invoke(command), timeout]);
    } catch (err) {
      stopped = (err as Error).message;
      if (err instanceof PowerShellBridgeError) throw err;
      const code = (err as { originalError?: { code?: string } }).originalError?.code;
      if (code === 'ENOENT' || code === 'EACCES') throw new PowerShellNotAvailableError(`cannot start ${executable} (${code}); ${NOT_AVAILABLE_HINT}`);
      throw new PowerShellBridgeError(`${what}: PowerShell (${executable}) failed: ${oneLine((err as Error).message)}`);
    } finally {
      clearTimeout(timer);
    }
    const stdout = result.stdout?.toString('utf8') ?? '';
    const stderr = result.stderr?.toString('utf8') ?? '';
    const markerAt = stdout.lastIndexOf(JSON_MARKER);
    if (stderr.trim() !== '' || markerAt < 0) {
      const said = [stderr, markerAt < 0 ? stdout : ''].map(cleanOutput).filter(Boolean).join(' | ');
      throw new PowerShellBridgeError(`${what} failed in PowerShell: ${said || 'no output'}`);
    }
    const line = stdout.slice(markerAt + JSON_MARKER.length).split(/\r?\n/)[0];
    try {
      return { json: JSON.parse(line), stdout, stderr };
    } catch (err) {
      throw new PowerShellBridgeError(`${what} gave output that is not JSON (${(err as Error).message}): ${line.slice(0, 200)}`);
    }
  };
  try {
    const { json: versions } = await invoke(importCommand(modulePath), `importing the module ${modulePath}`);
    const [powerShellVersion, moduleVersion] = Array.isArray(versions) ? versions.map(String) : ['?', '?'];
    return await work({
      executable,
      modulePath,
      powerShellVersion,
      moduleVersion,
      run: async (name, params) => {
        const command = functionCommand(name, params);
        return parseResults(name, (await invoke(command, name)).json);
      },
    });
  } finally {
    await disposeShell(shell);
  }
}

/** Runs one module function in a PowerShell of its own (start-up cost included) and returns its results. */
export async function runModuleFunction(name: string, params?: Record<string, ParamValue>, options?: BridgeOptions): Promise<CheckResult[]> {
  functionCommand(name, params); // reject a bad name or parameter before PowerShell starts
  return withModuleSession((session) => session.run(name, params), options);
}

/** The functions `gateway doctor` and the tray run to check this computer, with the parameters each takes. */
export const THIS_PC_CHECKS: ReadonlyArray<{ name: string; takes: ReadonlyArray<'Port' | 'DataPath' | 'InstallPath'> }> = [
  { name: 'Test-DicomGatewayPrerequisite', takes: ['Port', 'DataPath', 'InstallPath'] },
  { name: 'Test-DicomGatewayService', takes: ['InstallPath', 'DataPath'] },
  { name: 'Test-DicomGatewayFolderAccess', takes: ['InstallPath', 'DataPath'] },
  { name: 'Test-DicomGatewayFirewallRule', takes: ['Port', 'InstallPath', 'DataPath'] },
  { name: 'Test-DicomGatewayAntivirusExclusion', takes: ['InstallPath', 'DataPath'] },
  { name: 'Test-DicomGatewayBitLocker', takes: ['DataPath'] },
  { name: 'Test-DicomGatewayPowerPolicy', takes: [] },
];

export interface ThisPcOptions extends BridgeOptions {
  /** The DICOM port from the configuration; the module's default (4104) when absent. */
  port?: number;
  /** The data folder from the configuration; the module's default (%ProgramData%\DicomGateway) when absent. */
  dataPath?: string;
  /** The install folder; when packaged the executable's own folder, else the module's default. */
  installPath?: string;
}

export interface ThisPcReport {
  available: boolean;
  results: CheckResult[];
  /** Why there are no results, or what went wrong around them ("PowerShell not available: ..."). */
  message?: string;
}

/**
 * Runs every check of THIS_PC_CHECKS in one PowerShell. Never rejects: no PowerShell gives
 * `available: false` and the message; a function that fails becomes a Fail result named after it.
 */
export async function checkThisPc(options: ThisPcOptions = {}): Promise<ThisPcReport> {
  const installPath = options.installPath ?? (isPackaged() ? path.dirname(process.execPath) : undefined);
  const values: Record<'Port' | 'DataPath' | 'InstallPath', ParamValue | undefined> = { Port: options.port, DataPath: options.dataPath, InstallPath: installPath };
  try {
    return await withModuleSession(async (session) => {
      const results: CheckResult[] = [];
      for (const check of THIS_PC_CHECKS) {
        const params: Record<string, ParamValue> = {};
        for (const name of check.takes) if (values[name] !== undefined) params[name] = values[name]!;
        try {
          results.push(...(await session.run(check.name, params)));
        } catch (err) {
          results.push(failure(check.name, (err as Error).message, `${check.name} gives its results`));
        }
      }
      return { available: true, results };
    }, options);
  } catch (err) {
    if (err instanceof PowerShellNotAvailableError) return { available: false, results: [], message: err.message };
    const message = (err as Error).message;
    return { available: true, results: [failure('DicomGatewayModule', message, 'The DicomGateway PowerShell module loads')], message };
  }
}

function failure(name: string, detail: string, requirement: string): CheckResult {
  return { Name: name, Status: 'Fail', Detail: detail, Requirement: requirement };
}

function parseResults(name: string, json: unknown): CheckResult[] {
  // Windows PowerShell 5.1 can write an array as {"value":[...],"Count":n} when System.Array has extra type data.
  const wrapped = json as { value?: unknown } | null;
  if (!Array.isArray(json) && typeof wrapped === 'object' && wrapped !== null && Array.isArray(wrapped.value)) json = wrapped.value;
  if (!Array.isArray(json)) throw new PowerShellBridgeError(`${name} did not give a list of results`);
  return json.map((item: unknown, index) => {
    const result = item as Partial<CheckResult> | null;
    const problem =
      typeof result !== 'object' || result === null
        ? 'is not an object'
        : typeof result.Name !== 'string'
          ? 'has no Name'
          : typeof result.Status !== 'string' || !STATUSES.includes(result.Status)
            ? `has Status ${JSON.stringify(result.Status)}, not one of ${STATUSES.join(', ')}`
            : typeof result.Detail !== 'string'
              ? 'has no Detail'
              : undefined;
    if (problem) throw new PowerShellBridgeError(`${name} result ${index + 1} ${problem}: ${JSON.stringify(item)?.slice(0, 200)}`);
    return { ...result, Requirement: typeof result!.Requirement === 'string' ? result!.Requirement : '' } as CheckResult;
  });
}

/** PowerShell's error text without colour codes and line noise, on one line. */
function cleanOutput(text: string): string {
  return oneLine(text.replace(/\x1b\[[0-9;?]*[A-Za-z]/g, ''));
}

function oneLine(text: string): string {
  return text.replace(/\s+/g, ' ').trim();
}

/** Stops PowerShell: SIGTERM, then SIGKILL if it has not exited within 5 s. Never rejects. */
async function disposeShell(shell: PowerShell): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const exited = shell.dispose().then(
    () => true,
    () => true,
  );
  const gone = await Promise.race([exited, new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), 5000)))]);
  clearTimeout(timer);
  if (!gone) await shell.dispose('SIGKILL').catch(() => undefined);
}
