// The packaged executables (npm run package): the Linux one copied to an empty folder outside the repository, the
// Windows one under Wine, each answering `version` and receiving C-ECHO and C-STORE from DCMTK into its spool.
// Builds dist/ first when it is older than its sources (about 30 s), else reuses it.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { before, describe, test } from 'node:test';
import type { ApiStatus } from '../agent/api/types';
import { loadConfig } from '../agent/config/config';
import { freePort } from '../agent/db/embedded-postgres';
import { VERSION } from '../agent/version';
import { assertSameImage, sentFile } from './helpers/compression';
import { createTestDatabase, query } from './helpers/database';
import { runDcmtk, waitForPort } from './helpers/dcmtk';
import {
  copyLinuxPackage,
  ensurePackage,
  prepareWine,
  REPO_ROOT,
  runPackaged,
  runPackagedCommand,
  WINDOWS_EXE,
  WINDOWS_PACKAGE,
  wineRunnableGatewayCopy,
  winePath,
  wineOpenSecrets,
  type PackagedProcess,
} from './helpers/packaged';
import { tempDir } from './helpers/temp-dir';
import { signFiles, signingCertificateFromEnvironment, verifySignature } from '../provisioning/package/code-signing';
import { readSubsystem } from '../provisioning/package/pe-subsystem';
import { execFileSync } from 'node:child_process';
import { startDesktop, waitUntil } from './helpers/desktop';
import { FakeAgentApi } from './helpers/fake-agent-api';
import { writeSyntheticCtSeries, type SyntheticCtSeries } from './fixtures/synthetic-ct';

const AE_TITLE = 'Pkg_GW1';

function writeConfig(file: string, port: number, dataDir: string, databaseUrl: string | undefined): void {
  const config = {
    aeTitle: AE_TITLE,
    port,
    bindAddress: '127.0.0.1',
    dataDir,
    database: databaseUrl ? { url: databaseUrl } : {},
    limits: { minFreeDiskMb: 64 },
    api: { port: 0 },
  };
  fs.writeFileSync(file, JSON.stringify(config, null, 2));
}

/** Every file kept in a spool (its temp folders, starting with '.', left out). */
function spooledFiles(dataDir: string): string[] {
  const spool = path.join(dataDir, 'spool');
  if (!fs.existsSync(spool)) return [];
  return fs
    .readdirSync(spool)
    .filter((d) => !d.startsWith('.'))
    .flatMap((d) => fs.readdirSync(path.join(spool, d)).map((f) => path.join(spool, d, f)));
}

/** Waits for the agent's "agent ready" log line (the log is a file, written a little after the port opens). */
async function waitUntilReady(agent: PackagedProcess, port: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!/"agent ready"/.test(agent.output())) {
    if (agent.child.exitCode !== null || agent.child.signalCode !== null)
      throw new Error(`the agent exited (code ${agent.child.exitCode}) before it was ready; output:\n${agent.output().slice(-4000)}`);
    if (Date.now() > deadline) throw new Error(`the agent was not ready within ${timeoutMs} ms; output:\n${agent.output().slice(-4000)}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  await waitForPort(port, '127.0.0.1', 5000);
}

/** C-ECHO, then a 3-instance series by storescu: every instance is spooled and (with a database URL) indexed. */
async function echoAndStore(port: number, dataDir: string, series: SyntheticCtSeries, databaseUrl?: string): Promise<void> {
  const echo = await runDcmtk('echoscu', ['-aec', AE_TITLE, '127.0.0.1', String(port)]);
  assert.equal(echo.code, 0, `echoscu: ${echo.stderr}`);
  const store = await runDcmtk('storescu', ['-aec', AE_TITLE, '127.0.0.1', String(port), ...series.files]);
  assert.equal(store.code, 0, `storescu: ${store.stderr}`);
  const kept = spooledFiles(dataDir);
  assert.equal(kept.length, series.files.length, `spooled: ${kept.join(', ')}`);
  for (const uid of series.sopInstanceUids)
    assert.ok(
      kept.some((f) => path.basename(f).startsWith(`${uid}_`)),
      `${uid} is spooled`,
    );
  if (databaseUrl) {
    const rows = await query<{ sop_instance_uid: string }>(databaseUrl, 'SELECT sop_instance_uid FROM instances ORDER BY sop_instance_uid');
    assert.deepEqual(
      rows.map((r) => r.sop_instance_uid),
      [...series.sopInstanceUids].sort(),
    );
  }
}

/** Compression workers start from the executable's embedded worker bundle and WebAssembly: every instance compressed. */
async function assertCompressedByWorkers(dataDir: string, databaseUrl: string, series: SyntheticCtSeries): Promise<void> {
  const deadline = Date.now() + 30000;
  const decided = async () => (await query(databaseUrl, "SELECT count(*)::int AS n FROM compressions WHERE state <> 'pending'"))[0].n;
  while ((await decided()) < series.files.length) {
    if (Date.now() > deadline) throw new Error('compression decisions not made within 30 s');
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  for (const uid of series.sopInstanceUids) {
    const sent = await sentFile(dataDir, databaseUrl, uid);
    assert.ok(sent.compressed, `${uid} compressed`);
    await assertSameImage(
      spooledFiles(dataDir).find((f) => path.basename(f).startsWith(`${uid}_`))!,
      sent.file,
    );
  }
}

describe('the packaged executables', () => {
  let series: SyntheticCtSeries;

  before(() => {
    ensurePackage();
    series = writeSyntheticCtSeries(tempDir('pkg-ct'), { slices: 3, rows: 64, columns: 64, seed: 41 });
  });

  describe('Linux x64, copied alone into an empty folder', () => {
    let folder: string;
    let executable: string;

    before(() => {
      folder = tempDir('pkg-linux');
      executable = copyLinuxPackage(folder);
      assert.ok(!path.resolve(folder).startsWith(REPO_ROOT));
      assert.deepEqual(fs.readdirSync(folder).sort(), ['gateway', 'postgres', 'powershell', 'tray']);
    });

    test('answers version', async () => {
      const result = await runPackagedCommand(executable, ['version'], path.join(folder, 'version.log'));
      assert.equal(result.code, 0, result.output);
      assert.equal(result.output, `${VERSION}\n`);
    });

    test('runs the tray with the binary and icons from tray/ beside it (Xvfb, trayer)', async () => {
      const desktop = await startDesktop(tempDir('pkg-tray-desktop'));
      const api = new FakeAgentApi(path.join(folder, 'tray-data'));
      await api.start();
      const configFile = path.join(folder, 'tray.json');
      fs.writeFileSync(configFile, JSON.stringify({ aeTitle: 'TRAY_TEST', dataDir: api.dataDir, api: { port: api.port } }));
      const tray = spawn(executable, ['tray', '--config', configFile], { env: { ...desktop.env, XDG_STATE_HOME: path.join(folder, 'tray-state') }, stdio: ['ignore', 'pipe', 'pipe'] });
      let output = '';
      tray.stdout!.on('data', (d: Buffer) => (output += d.toString()));
      tray.stderr!.on('data', (d: Buffer) => (output += d.toString()));
      const exited = new Promise<number | null>((resolve) => tray.once('exit', (code) => resolve(code)));
      try {
        await waitUntil('the tray icon in trayer', () => output.includes('"message":"agent answers"') && desktop.windows().includes('("systray" "systray")'), 30000);
        assert.match(output, new RegExp(`"binary":"${path.join(folder, 'tray-state')}/dicom-gateway/traybin/`));
        tray.kill('SIGTERM');
        assert.equal(await exited, 0, output);
      } finally {
        if (tray.exitCode === null) tray.kill('SIGKILL');
        await api.stop();
        await desktop.stop();
      }
    });

    test('receives C-ECHO and C-STORE into its spool, with an external PostgreSQL', async () => {
      const databaseUrl = await createTestDatabase();
      const dataDir = path.join(folder, 'external-data');
      const port = await freePort();
      const configFile = path.join(folder, 'external.json');
      writeConfig(configFile, port, dataDir, databaseUrl);
      const agent = runPackaged(executable, ['run', '--config', configFile], path.join(folder, 'external.log'));
      try {
        await waitUntilReady(agent, port, 30000);
        await echoAndStore(port, dataDir, series, databaseUrl);
        await assertCompressedByWorkers(dataDir, databaseUrl, series);
        // The status page comes from the executable's embedded assets.
        const apiPort = JSON.parse(fs.readFileSync(path.join(dataDir, 'agent.json'), 'utf8')).apiPort;
        const page = await fetch(`http://127.0.0.1:${apiPort}/`);
        assert.equal(page.status, 200);
        assert.match(await page.text(), /<script src="\/status\.js"/);
        assert.equal((await fetch(`http://127.0.0.1:${apiPort}/status.js`)).status, 200);
        const status = (await (await fetch(`http://127.0.0.1:${apiPort}/api/status`)).json()) as ApiStatus;
        assert.equal(status.aeTitle, AE_TITLE);
        assert.equal(status.database.ok, true);
      } finally {
        assert.equal(await agent.stop(), 0, agent.output().slice(-4000));
      }
    });

    test('runs its embedded PostgreSQL from postgres/ beside the executable', async () => {
      const dataDir = path.join(folder, 'embedded-data');
      const port = await freePort();
      const configFile = path.join(folder, 'embedded.json');
      writeConfig(configFile, port, dataDir, undefined);
      const agent = runPackaged(executable, ['run', '--config', configFile], path.join(folder, 'embedded.log'));
      try {
        await waitUntilReady(agent, port, 60000);
        assert.match(agent.output(), /"embedded PostgreSQL started"/);
        await echoAndStore(port, dataDir, series);
      } finally {
        assert.equal(await agent.stop(), 0, agent.output().slice(-4000));
      }
    });
  });

  describe('Windows x64 (gateway.exe under Wine)', () => {
    let folder: string;

    before(() => {
      prepareWine();
      folder = tempDir('pkg-wine');
    });

    test('the package folder holds the Intune scripts, the template, gateway.exe, its service host, PostgreSQL and the module', () => {
      for (const file of [
        'Install.ps1',
        'Uninstall.ps1',
        'IntuneCommon.ps1',
        'Detect.ps1',
        'gateway.template.json',
        'site.example.json',
        'INSTALL.txt',
        'gateway/gateway.exe',
        'gateway/gateway-tray.exe',
        'gateway/version.txt',
        'gateway/gateway-service.exe',
        'gateway/gateway-service.exe.config',
        'gateway/gateway-service.LICENSE.txt',
        'gateway/gateway-dpapi.exe',
        'gateway/postgres/bin/postgres.exe',
        'gateway/postgres/bin/initdb.exe',
        'gateway/postgres/bin/pg_ctl.exe',
        'gateway/powershell/DicomGateway/DicomGateway.psd1',
      ]) {
        assert.ok(fs.existsSync(path.join(WINDOWS_PACKAGE, file)), `dist/win-x64/${file}`);
      }
      assert.ok(fs.readdirSync(path.dirname(WINDOWS_PACKAGE)).some((f) => /^dicom-gateway-win-x64-.+\.zip$/.test(f)));
      // Install-DicomGateway fills in aeTitle, port and dataDir; the rest must already be a valid configuration.
      assert.doesNotThrow(() => loadConfig(path.join(WINDOWS_PACKAGE, 'gateway.template.json')));
    });

    test('states the packaged version in every script that states it: Detect.ps1, the module manifests, version.txt', () => {
      const detect = fs.readFileSync(path.join(WINDOWS_PACKAGE, 'Detect.ps1'), 'utf8');
      assert.match(detect, new RegExp(`\\[string\\]\\$MinimumVersion = '${VERSION.replace(/\./g, '\\.')}'`));
      for (const manifest of [
        path.join(WINDOWS_PACKAGE, 'gateway', 'powershell', 'DicomGateway', 'DicomGateway.psd1'),
        path.join(REPO_ROOT, 'dist', 'linux-x64', 'powershell', 'DicomGateway', 'DicomGateway.psd1'),
      ]) {
        assert.match(fs.readFileSync(manifest, 'utf8'), new RegExp(`ModuleVersion\\s*=\\s*'${VERSION.replace(/\./g, '\\.')}'`), manifest);
      }
      assert.equal(fs.readFileSync(path.join(WINDOWS_PACKAGE, 'gateway', 'version.txt'), 'utf8').trim(), VERSION);
    });

    test('gateway-tray.exe is gateway.exe with the GUI subsystem (no console window), and it runs', async () => {
      const trayExe = path.join(path.dirname(WINDOWS_EXE), 'gateway-tray.exe');
      assert.equal(readSubsystem(WINDOWS_EXE), 'console');
      assert.equal(readSubsystem(trayExe), 'gui');
      const [gateway, tray] = [fs.readFileSync(WINDOWS_EXE), fs.readFileSync(trayExe)];
      assert.equal(tray.length, gateway.length);
      const differing = [...gateway.keys()].filter((i) => gateway[i] !== tray[i]);
      assert.ok(differing.length === 1 && differing[0] === gateway.readUInt32LE(0x3c) + 24 + 68, `bytes differ at ${differing.slice(0, 5).join(', ')}`);
      const result = await runPackagedCommand(trayExe, ['version'], path.join(folder, 'tray-version.log'), { wine: true });
      assert.equal(result.code, 0, result.output);
    });

    test('with a code-signing certificate, gateway.exe and the scripts are signed and the signatures verify; a changed file does not', () => {
      const dir = tempDir('pkg-signing');
      const [key, cert, pfx] = ['key.pem', 'cert.pem', 'signing.pfx'].map((f) => path.join(dir, f));
      execFileSync(
        'openssl',
        ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert, '-days', '2', '-subj', '/CN=DICOM Gateway test signing', '-addext', 'extendedKeyUsage=codeSigning'],
        { stdio: 'ignore' },
      );
      execFileSync('openssl', ['pkcs12', '-export', '-inkey', key, '-in', cert, '-out', pfx, '-passout', 'pass:t3st pass'], { stdio: 'ignore' });
      const certificate = signingCertificateFromEnvironment({ DICOM_GATEWAY_SIGNING_PFX: pfx, DICOM_GATEWAY_SIGNING_PASSWORD: 't3st pass' });
      assert.ok(certificate);
      assert.equal(signingCertificateFromEnvironment({}), undefined);
      assert.throws(() => signingCertificateFromEnvironment({ DICOM_GATEWAY_SIGNING_PFX: pfx }), /DICOM_GATEWAY_SIGNING_PASSWORD/);
      const module = path.join(WINDOWS_PACKAGE, 'gateway', 'powershell', 'DicomGateway');
      const originals = [
        WINDOWS_EXE,
        path.join(WINDOWS_PACKAGE, 'Detect.ps1'),
        path.join(WINDOWS_PACKAGE, 'Install.ps1'),
        path.join(module, 'DicomGateway.psd1'),
        path.join(module, 'DicomGateway.psm1'),
        path.join(module, 'Public', 'Install-DicomGateway.ps1'),
      ];
      const copies = originals.map((file) => {
        const copy = path.join(dir, path.basename(file));
        fs.copyFileSync(file, copy);
        return copy;
      });
      signFiles(copies, certificate);
      for (const copy of copies) verifySignature(copy, cert);
      assert.match(fs.readFileSync(copies[1], 'utf8'), /# SIG # Begin signature block/);
      // A Detect.ps1 changed to detect every computer must not pass as signed.
      const signed = fs.readFileSync(copies[1], 'utf8');
      const tampered = signed.replace('if (-not $status.database.ok -or -not $status.receiver.listening) { exit 1 }', '');
      assert.notEqual(tampered, signed);
      fs.writeFileSync(copies[1], tampered);
      assert.throws(() => verifySignature(copies[1], cert), /does not verify/);
    });

    test('answers version', async () => {
      const result = await runPackagedCommand(WINDOWS_EXE, ['version'], path.join(folder, 'version.log'), { wine: true });
      assert.equal(result.code, 0, result.output);
      assert.equal(result.output.replace(/\r\n/g, '\n'), `${VERSION}\n`);
    });

    test('receives C-ECHO and C-STORE into its spool, with an external PostgreSQL', async () => {
      const databaseUrl = await createTestDatabase();
      const dataDir = path.join(folder, 'data');
      const port = await freePort();
      const configFile = path.join(folder, 'gateway.json');
      writeConfig(configFile, port, winePath(dataDir), databaseUrl);
      const agent = runPackaged(WINDOWS_EXE, ['run', '--config', winePath(configFile)], path.join(folder, 'run.log'), { wine: true });
      try {
        await waitUntilReady(agent, port, 60000);
        await echoAndStore(port, dataDir, series, databaseUrl);
        await assertCompressedByWorkers(dataDir, databaseUrl, series);
      } finally {
        // Wine passes no console signal to the Windows program: it is killed.
        await agent.stop('SIGKILL');
      }
    });

    describe("its own embedded PostgreSQL, as an administrator (Wine's user, a stand-in for SYSTEM)", () => {
      let executable: string;
      let dataDir: string;
      let configFile: string;
      let port: number;
      let runs = 0;

      before(async () => {
        const dir = tempDir('pkg-wine-embedded');
        executable = wineRunnableGatewayCopy(dir);
        dataDir = path.join(dir, 'data');
        configFile = path.join(dir, 'gateway.json');
        port = await freePort();
        writeConfig(configFile, port, winePath(dataDir), undefined);
      });

      const start = async (): Promise<PackagedProcess> => {
        const agent = runPackaged(executable, ['run', '--config', winePath(configFile)], path.join(path.dirname(configFile), `run-${++runs}.log`), { wine: true });
        await waitUntilReady(agent, port, 180000);
        return agent;
      };
      const stop = async (agent: PackagedProcess): Promise<void> => {
        const result = await runPackagedCommand(executable, ['stop', '--config', winePath(configFile)], path.join(path.dirname(configFile), `stop-${runs}.log`), { wine: true, timeoutMs: 120000 });
        assert.equal(result.code, 0, result.output);
        assert.match(result.output, /the agent \(pid \d+\) stopped/);
        assert.equal(await agent.exited, 0, agent.output().slice(-4000));
      };
      // agent.json names the database without its password, which only the secret store (DPAPI) holds.
      const embeddedUrl = () => {
        const url = new URL(JSON.parse(fs.readFileSync(path.join(dataDir, 'agent.json'), 'utf8')).databaseUrl as string);
        assert.equal(url.password, '', 'no password in agent.json');
        url.password = encodeURIComponent(wineOpenSecrets(executable, dataDir)['database.password']);
        return url.toString();
      };
      const started = (agent: PackagedProcess) =>
        JSON.parse(
          agent
            .output()
            .split(/\r?\n/)
            .find((l) => l.includes('"embedded PostgreSQL started"'))!,
        );
      const serverLog = () => fs.readFileSync(path.join(dataDir, 'logs', 'postgres.log'), 'utf8');

      test('postgres.exe started directly, as embedded-postgres did, refuses the administrator token', async () => {
        fs.mkdirSync(path.join(dataDir, 'unused'), { recursive: true });
        const direct = await runPackagedCommand(
          path.join(path.dirname(executable), 'postgres', 'bin', 'postgres.exe'),
          ['-D', winePath(path.join(dataDir, 'unused'))],
          path.join(path.dirname(configFile), 'direct.log'),
          { wine: true },
        );
        assert.notEqual(direct.code, 0);
        assert.match(direct.output, /Execution of PostgreSQL by a user with administrative permissions is not\s+permitted/);
      });

      test('initialises its cluster through initdb and pg_ctl, migrates, answers C-ECHO, keeps a C-STORE, stops cleanly and starts again on the same cluster', async () => {
        let agent = await start();
        try {
          assert.match(agent.output(), /"initialising embedded PostgreSQL"/);
          assert.match(agent.output(), /"database migration applied"/);
          const secretsFile = fs.readFileSync(path.join(dataDir, 'secrets.json'), 'utf8');
          const secrets = wineOpenSecrets(executable, dataDir);
          assert.deepEqual(Object.keys(secrets).sort(), ['database.adminPassword', 'database.password']);
          for (const value of Object.values(secrets)) assert.ok(!secretsFile.includes(value), 'the database passwords are stored protected');
          const moved = spawnSync('wine', [path.join(path.dirname(executable), 'gateway-dpapi.exe'), 'unprotect'], {
            input: `upstream.token\t${JSON.parse(secretsFile).values['database.password']}\n`,
            encoding: 'utf8',
            env: { ...process.env, WINEDEBUG: '-all' },
          });
          assert.notEqual(moved.status, 0, 'a value protected under one name does not open under another (the name is the entropy)');
          assert.match(moved.stderr, /CryptUnprotectData failed for upstream\.token/);
          for (const legacy of ['postgres-password', 'postgres-admin-password']) assert.ok(!fs.existsSync(path.join(dataDir, legacy)), `no ${legacy} file`);
          await echoAndStore(port, dataDir, series, embeddedUrl());
          await stop(agent);
          assert.match(serverLog(), /received fast shutdown request[\s\S]*database system is shut down/);

          agent = await start();
          assert.equal(started(agent).previousShutdown, 'clean', 'the restart found a cleanly shut down cluster');
          const rows = await query<{ n: number }>(embeddedUrl(), 'SELECT count(*)::int AS n FROM instances');
          assert.equal(rows[0].n, series.files.length);
          await stop(agent);
        } finally {
          await agent.stop('SIGKILL');
        }
      });

      test('a server left running by a killed agent is stopped in order by the next start', async () => {
        let agent = await start();
        try {
          await agent.stop('SIGKILL');
          agent = await start();
          assert.match(agent.output(), /"stopping a PostgreSQL server left running by a previous agent"/);
          assert.equal(started(agent).previousShutdown, 'clean');
          await stop(agent);
        } finally {
          await agent.stop('SIGKILL');
        }
      });

      test('gateway.exe run exits 1 for a configuration that is not valid and for a database that cannot start', async () => {
        const badConfig = path.join(path.dirname(configFile), 'bad.json');
        fs.writeFileSync(badConfig, JSON.stringify({ port: 4104, dataDir: winePath(dataDir) }));
        const bad = await runPackagedCommand(executable, ['run', '--config', winePath(badConfig)], path.join(path.dirname(configFile), 'bad.log'), { wine: true });
        assert.equal(bad.code, 1, bad.output);
        assert.match(bad.output, /aeTitle/);

        const blocker = net.createServer();
        const taken = await new Promise<number>((resolve) => blocker.listen(0, '127.0.0.1', () => resolve((blocker.address() as net.AddressInfo).port)));
        try {
          const blocked = path.join(path.dirname(configFile), 'blocked.json');
          fs.writeFileSync(blocked, JSON.stringify({ ...JSON.parse(fs.readFileSync(configFile, 'utf8')), database: { embeddedPort: taken } }));
          const result = await runPackagedCommand(executable, ['run', '--config', winePath(blocked)], path.join(path.dirname(configFile), 'blocked.log'), { wine: true, timeoutMs: 180000 });
          assert.equal(result.code, 1, result.output);
          assert.match(result.output, new RegExp(`embedded PostgreSQL in .* did not start on 127\\.0\\.0\\.1:${taken}`));
        } finally {
          blocker.close();
        }
      });
    });
  });
});
