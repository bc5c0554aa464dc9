// The PowerShell bridge against the real DicomGateway module in a real PowerShell (pwsh 7 here, installed by
// test/powershell/install-pester.sh). Off Windows every check answers NotApplicable; these tests fail, not
// skip, when there is no pwsh.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { format } from 'node:util';
import { AgentApiClient } from '../agent/api/client';
import { statusPageUrl } from '../agent/api/types';
import { main } from '../agent/cli';
import { createTestDatabase } from './helpers/database';
import { startGateway } from './helpers/gateway-process';
import {
  checkThisPc,
  findModuleManifest,
  findPowerShell,
  PowerShellBridgeError,
  PowerShellNotAvailableError,
  quotePowerShellString,
  runModuleFunction,
  withModuleSession,
} from '../agent/host/powershell-bridge';

const PREREQUISITE_NAMES = [
  'OperatingSystem',
  'Architecture',
  'Processor',
  'Memory',
  'DataVolume',
  'LocalAdministrator',
  'HostName',
  'StaticIPAddress',
  'DicomPort',
  'VisualCppRuntime',
  'FolderOwner',
];
const THIS_PC_NAMES = [
  ...PREREQUISITE_NAMES,
  'AgentService',
  'AgentRunning',
  'InstallFolderAccess',
  'DataFolderAccess',
  'TrayFolderAccess',
  'FirewallRule',
  'InstallFolderExclusion',
  'DatabaseFolderExclusion',
  'DataFolderNotExcluded',
  'SystemVolumeEncryption',
  'DataVolumeEncryption',
  'SleepTimeout',
  'Hibernation',
];
const NOT_AVAILABLE = /^PowerShell not available(: .+)?$/;

/** Runs `fn` with environment variables changed (undefined removes one), then puts them back. */
async function withEnv<T>(changes: Record<string, string | undefined>, fn: () => Promise<T>): Promise<T> {
  const saved = Object.fromEntries(Object.keys(changes).map((key) => [key, process.env[key]]));
  const apply = (values: Record<string, string | undefined>) => {
    for (const [key, value] of Object.entries(values)) {
      if (value === undefined) delete process.env[key];
      else process.env[key] = value;
    }
  };
  apply(changes);
  try {
    return await fn();
  } finally {
    apply(saved);
  }
}

/** Calls a CLI command in-process and keeps what it wrote with console.log / console.error. */
async function capture(fn: () => Promise<number>): Promise<{ code: number; stdout: string; stderr: string }> {
  const stdout: string[] = [];
  const stderr: string[] = [];
  const { log, error } = console;
  console.log = (...args: unknown[]) => void stdout.push(format(...args));
  console.error = (...args: unknown[]) => void stderr.push(format(...args));
  try {
    const code = await fn();
    return { code, stdout: stdout.join('\n'), stderr: stderr.join('\n') };
  } finally {
    console.log = log;
    console.error = error;
  }
}

const notWindows = process.platform !== 'win32';
let tempDir: string;

before(() => {
  tempDir = fs.mkdtempSync(path.join(os.tmpdir(), 'gw-pwsh-bridge-'));
  // doctor must not pick up a gateway.json lying in the working folder.
  process.env.GATEWAY_CONFIG = path.join(tempDir, 'no-such-gateway.json');
});

after(() => {
  fs.rmSync(tempDir, { recursive: true, force: true });
});

describe('PowerShell bridge with the real module', () => {
  test('PowerShell is installed (bash test/powershell/install-pester.sh)', () => {
    let executable: string | undefined;
    try {
      executable = findPowerShell();
    } catch (err) {
      assert.fail(`${(err as Error).message}. CI and developers install pwsh with: bash test/powershell/install-pester.sh`);
    }
    assert.ok(fs.existsSync(executable));
  });

  test('Test-DicomGatewayPrerequisite gives parsed result objects', async () => {
    const started = Date.now();
    const results = await runModuleFunction('Test-DicomGatewayPrerequisite', { Port: 11112 });
    console.log(`one bridge call (PowerShell start, module import, one function): ${Date.now() - started} ms`);
    assert.deepEqual(
      results.map((r) => r.Name),
      PREREQUISITE_NAMES,
    );
    for (const result of results) {
      assert.equal(typeof result.Detail, 'string');
      assert.ok(result.Requirement.length > 0, `${result.Name} has a requirement text`);
      if (notWindows) {
        assert.equal(result.Status, 'NotApplicable');
        assert.match(result.Detail, /^Windows only; this host runs /);
      } else {
        assert.ok(['Pass', 'Warn', 'Fail'].includes(result.Status), `${result.Name}: ${result.Status}`);
      }
    }
  });

  test('string parameters are quoted: quotes, $(...) and non-ASCII reach PowerShell as data', async () => {
    await withModuleSession(async (session) => {
      for (const dataPath of ["C:\\x'; Write-Error 'injected'; '", 'C:\\Données ‘quoted’ $(Write-Error injected) 😀', '']) {
        // The empty string is refused by the module's ValidateNotNullOrEmpty: proof the value arrived as given.
        if (dataPath === '') {
          await assert.rejects(session.run('Test-DicomGatewayBitLocker', { DataPath: dataPath }), (err: Error) => err instanceof PowerShellBridgeError && /DataPath/.test(err.message));
          continue;
        }
        const results = await session.run('Test-DicomGatewayBitLocker', { DataPath: dataPath });
        assert.deepEqual(
          results.map((r) => r.Name),
          ['SystemVolumeEncryption', 'DataVolumeEncryption'],
        );
      }
      assert.match(session.powerShellVersion, /^\d+\.\d+/);
      assert.match(session.moduleVersion, /^\d+\.\d+/);
    });
  });

  test('quotePowerShellString: PowerShell reads back exactly the string given', () => {
    const values = ["it's", 'C:\\Données ‘curly’ “double” $(Write-Error injected) `n $env:PATH', '😀 tab\there', ''];
    // Through stdin, as the bridge sends its commands; ASCII-only JSON back.
    const command = values
      .map(
        (value) =>
          `[Console]::Out.WriteLine([regex]::Replace((ConvertTo-Json -Compress -InputObject ${quotePowerShellString(value)}), '[^\\x00-\\x7F]', { param($m) '\\u{0:x4}' -f [int][char]$m.Value }))`,
      )
      .join('\n');
    const run = spawnSync(findPowerShell(), ['-NoProfile', '-NonInteractive', '-Command', '-'], { input: `${command}\n`, encoding: 'utf8' });
    assert.equal(run.stderr, '');
    const lines = run.stdout
      .replace(/\x1b\[[0-9;?]*[A-Za-z]/g, '')
      .split(/\r?\n/)
      .filter((line) => line.startsWith('"'));
    assert.deepEqual(
      lines.map((line) => JSON.parse(line)),
      values,
    );
  });

  test('boolean parameters are switches; a warning around the results does not matter', { skip: !notWindows && 'off Windows only' }, async () => {
    // Off Windows Set-DicomGatewayAeTitle stops with a warning (no result) or, with -EnableException, an error.
    assert.deepEqual(await runModuleFunction('Set-DicomGatewayAeTitle', { AeTitle: 'NEW_AE', WhatIf: true }), []);
    await assert.rejects(runModuleFunction('Set-DicomGatewayAeTitle', { AeTitle: 'NEW_AE', EnableException: true }), /Set-DicomGatewayAeTitle failed in PowerShell: .*runs on Windows only/);
  });

  test("a bad function name is refused before PowerShell starts; an unknown one fails with PowerShell's reason", async () => {
    await assert.rejects(runModuleFunction('Test-DicomGatewayPrerequisite; Remove-Item x'), PowerShellBridgeError);
    await assert.rejects(runModuleFunction('Get-ChildItem'), /not a DicomGateway function name/);
    await assert.rejects(runModuleFunction('Test-DicomGatewayPrerequisite', { 'Port; rm': 1 }), /invalid PowerShell parameter name/);
    await assert.rejects(runModuleFunction('Test-DicomGatewayNoSuchCheck'), (err: Error) => err instanceof PowerShellBridgeError && /Test-DicomGatewayNoSuchCheck.*not recognized/.test(err.message));
    await assert.rejects(runModuleFunction('Test-DicomGatewayPrerequisite', { Port: 0 }), /Port/);
  });

  test('a call that takes too long is stopped with a clear error', async () => {
    await assert.rejects(
      runModuleFunction('Test-DicomGatewayPowerPolicy', {}, { timeoutMs: 50 }),
      (err: Error) => err instanceof PowerShellBridgeError && /did not finish within 0\.05 s; PowerShell .* was stopped/.test(err.message),
    );
  });

  test('checkThisPc runs every check in one PowerShell', async () => {
    const report = await checkThisPc({ port: 11112, dataPath: path.join(tempDir, 'data') });
    assert.equal(report.available, true);
    assert.equal(report.message, undefined);
    assert.deepEqual(
      report.results.map((r) => r.Name),
      THIS_PC_NAMES,
    );
    if (notWindows) assert.ok(report.results.every((r) => r.Status === 'NotApplicable'));
  });

  test("the tray's Check this PC: a running agent runs the module in real PowerShell for its API client", async () => {
    const gateway = await startGateway({ dataDir: path.join(tempDir, 'agent'), database: await createTestDatabase(), aeTitle: 'PCCHECK' });
    try {
      const client = new AgentApiClient({ baseUrl: statusPageUrl(gateway.apiPort), dataDir: gateway.dataDir });
      const report = await client.checkThisPc();
      assert.equal(report.available, true, report.message);
      assert.deepEqual(
        report.results.map((r) => r.Name),
        THIS_PC_NAMES,
      );
      if (notWindows) assert.ok(report.results.every((r) => r.Status === 'NotApplicable'));
    } finally {
      await gateway.stop();
    }
  });
});

describe('gateway doctor', () => {
  test('prints the results as a table', async () => {
    const { code, stdout, stderr } = await capture(() => main(['doctor']));
    assert.equal(stderr, '');
    const lines = stdout.split('\n');
    assert.match(lines[0], /^Name\s+Status\s+Detail$/);
    for (const name of THIS_PC_NAMES)
      assert.ok(
        lines.some((line) => line.startsWith(`${name} `)),
        `${name} is in\n${stdout}`,
      );
    assert.match(stdout, new RegExp(`^${THIS_PC_NAMES.length} checks: \\d+ Pass, \\d+ Warn, \\d+ Fail, \\d+ NotApplicable$`, 'm'));
    if (notWindows) {
      assert.equal(code, 0);
      assert.match(stdout, /^FirewallRule\s+NotApplicable\s+Windows only; this host runs /m);
    }
  });

  test('--json prints the report; the port comes from --config', async () => {
    const config = path.join(tempDir, 'gateway.json');
    fs.writeFileSync(config, JSON.stringify({ aeTitle: 'DOCTOR_TEST', port: 11112, dataDir: path.join(tempDir, 'data') }));
    const { code, stdout } = await capture(() => main(['doctor', '--json', '--config', config]));
    const report = JSON.parse(stdout);
    assert.equal(report.available, true);
    assert.deepEqual(
      report.results.map((r: { Name: string }) => r.Name),
      THIS_PC_NAMES,
    );
    if (notWindows) assert.equal(code, 0);
  });

  test('usage errors exit 2; a configuration that cannot be read exits 1', async () => {
    const usage = await capture(() => main(['doctor', '--verbose']));
    assert.equal(usage.code, 2);
    assert.match(usage.stderr, /Unknown option '--verbose'/);
    const badConfig = await capture(() => main(['doctor', '--config', path.join(tempDir, 'missing.json')]));
    assert.equal(badConfig.code, 1);
    assert.match(badConfig.stderr, /cannot read configuration/);
  });
});

describe('where PowerShell and the module come from', () => {
  test("packaged, the module is taken only from the executable's own folder, never from a folder above it that a user may create", () => {
    const root = fs.mkdtempSync(path.join(tempDir, 'install-'));
    const executable = path.join(root, 'Program Files', 'DicomGateway', 'gateway.exe');
    // <exe folder>\..\..\powershell\DicomGateway: C:\powershell\DicomGateway for the default install.
    const planted = path.join(root, 'powershell', 'DicomGateway');
    fs.mkdirSync(planted, { recursive: true });
    fs.writeFileSync(path.join(planted, 'DicomGateway.psd1'), '@{}');
    fs.mkdirSync(path.dirname(executable), { recursive: true });
    assert.throws(
      () => findModuleManifest(true, executable),
      (err: Error) =>
        err instanceof PowerShellBridgeError && err.message.includes(path.join(path.dirname(executable), 'powershell', 'DicomGateway', 'DicomGateway.psd1')) && !err.message.includes(planted),
    );
    const own = path.join(path.dirname(executable), 'powershell', 'DicomGateway');
    fs.mkdirSync(own, { recursive: true });
    fs.writeFileSync(path.join(own, 'DicomGateway.psd1'), '@{}');
    assert.equal(findModuleManifest(true, executable), path.join(own, 'DicomGateway.psd1'));
  });

  test("on Windows, PowerShell is System32's powershell.exe by absolute path, whatever pwsh is first on PATH", () => {
    const systemRoot = fs.mkdtempSync(path.join(tempDir, 'windows-'));
    const windowsPowerShell = path.join(systemRoot, 'System32', 'WindowsPowerShell', 'v1.0', 'powershell.exe');
    fs.mkdirSync(path.dirname(windowsPowerShell), { recursive: true });
    fs.writeFileSync(windowsPowerShell, '', { mode: 0o755 });
    const userBin = path.join(systemRoot, 'user-bin');
    fs.mkdirSync(userBin);
    for (const name of ['pwsh', 'pwsh.exe', 'powershell.exe']) fs.writeFileSync(path.join(userBin, name), '', { mode: 0o755 });
    const env = { SystemRoot: systemRoot, PATH: userBin, Path: userBin };
    assert.equal(findPowerShell(env, 'win32'), windowsPowerShell);
    assert.throws(() => findPowerShell({ ...env, GATEWAY_PWSH: 'pwsh' }, 'win32'), /must be an absolute path/);
    assert.throws(() => findPowerShell({ PATH: userBin, SystemRoot: path.join(systemRoot, 'none') }, 'win32'), PowerShellNotAvailableError);
  });

  test(
    "a module in the user's module folder cannot stand in for a command the bridge uses (ConvertTo-Json)",
    { skip: process.platform === 'win32' && 'the user module folder is under Documents there' },
    async () => {
      const home = fs.mkdtempSync(path.join(tempDir, 'home-'));
      const evil = path.join(home, '.local', 'share', 'powershell', 'Modules', 'Evil');
      fs.mkdirSync(evil, { recursive: true });
      fs.writeFileSync(path.join(evil, 'Evil.psm1'), "function ConvertTo-Json { 'planted' }\nExport-ModuleMember -Function ConvertTo-Json\n");
      const executable = findPowerShell();
      // Proof the planted module wins in a plain session of that user...
      const plain = spawnSync(executable, ['-NoProfile', '-NonInteractive', '-Command', 'ConvertTo-Json -InputObject 1'], { env: { ...process.env, HOME: home }, encoding: 'utf8' });
      assert.equal(plain.stdout.trim(), 'planted');
      // ...and not in the bridge's (the same executable: with HOME elsewhere, ~/.dotnet/tools would not find it).
      const results = await withEnv({ HOME: home, GATEWAY_PWSH: executable }, () => runModuleFunction('Test-DicomGatewayPowerPolicy'));
      assert.deepEqual(
        results.map((r) => r.Name),
        ['SleepTimeout', 'Hibernation'],
      );
    },
  );
});

describe('without PowerShell', () => {
  const noPowerShell = { GATEWAY_PWSH: path.join(os.tmpdir(), 'no-such-dir', 'pwsh'), PATH: '', Path: undefined };

  test('the bridge answers "PowerShell not available" without throwing', async () => {
    const report = await withEnv(noPowerShell, () => checkThisPc());
    assert.equal(report.available, false);
    assert.deepEqual(report.results, []);
    assert.match(report.message ?? '', NOT_AVAILABLE);
    assert.match(report.message ?? '', /GATEWAY_PWSH/);
  });

  test('runModuleFunction rejects with PowerShellNotAvailableError', async () => {
    await withEnv(noPowerShell, () =>
      assert.rejects(runModuleFunction('Test-DicomGatewayPrerequisite'), (err: Error) => err instanceof PowerShellNotAvailableError && NOT_AVAILABLE.test(err.message)),
    );
  });

  test('a GATEWAY_PWSH that is not executable is not available either', { skip: process.platform === 'win32' && 'Windows has no executable bit' }, async () => {
    const notExecutable = path.join(tempDir, 'pwsh');
    fs.writeFileSync(notExecutable, '#!/bin/sh\n', { mode: 0o644 });
    const report = await withEnv({ ...noPowerShell, GATEWAY_PWSH: notExecutable }, () => checkThisPc());
    assert.equal(report.available, false);
    assert.match(report.message ?? '', NOT_AVAILABLE);
  });

  test('doctor prints it and exits 4', async () => {
    const text = await withEnv(noPowerShell, () => capture(() => main(['doctor'])));
    assert.equal(text.code, 4);
    assert.match(text.stderr, /^gateway doctor: PowerShell not available: /);
    const json = await withEnv(noPowerShell, () => capture(() => main(['doctor', '--json'])));
    assert.equal(json.code, 4);
    const report = JSON.parse(json.stdout);
    assert.equal(report.available, false);
    assert.match(report.message, NOT_AVAILABLE);
  });
});
