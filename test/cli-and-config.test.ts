// The gateway command and its configuration file, as an administrator meets them.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import { aeTitleProblem } from '../agent/config/ae-title';
import { ConfigError, parseConfig } from '../agent/config/config';
import packageJson from '../package.json';
import { GATEWAY_BIN } from './helpers/gateway-process';
import { tempDir } from './helpers/temp-dir';

function gateway(...args: string[]) {
  const result = spawnSync(process.execPath, [GATEWAY_BIN, ...args], { encoding: 'utf8', env: { ...process.env, GATEWAY_CONFIG: '' } });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

describe('gateway command', () => {
  test('--help lists the commands; version prints the version; an unknown command is a usage error', () => {
    const help = gateway('--help');
    assert.equal(help.code, 0);
    for (const command of ['run', 'init', 'status', 'echo', 'doctor', 'version']) assert.match(help.stdout, new RegExp(`^  ${command} `, 'm'));
    assert.equal(gateway('version').stdout.trim(), packageJson.version);
    const unknown = gateway('frobnicate');
    assert.equal(unknown.code, 2);
    assert.match(unknown.stderr, /unknown command "frobnicate"/);
  });

  test('--help on every command prints its usage and exits 0; a wrong option names the command to ask', () => {
    const listed = [...gateway('--help').stdout.matchAll(/^  ([a-z-]+) /gm)].map((m) => m[1]).filter((c) => c !== 'help');
    assert.deepEqual(listed, ['run', 'stop', 'init', 'status', 'test-connectivity', 'retry', 'echo', 'doctor', 'secret', 'tray', 'version']);
    for (const command of listed) {
      for (const flag of ['--help', '-h']) {
        const help = gateway(command, flag);
        assert.equal(help.code, 0, `${command} ${flag}: ${help.stderr}`);
        assert.match(help.stdout, new RegExp(`^Usage: gateway ${command}\\b`), `${command} ${flag}`);
        assert.match(help.stdout, /^Exit status: 0 /m);
      }
    }
    assert.match(gateway('status', '--help').stdout, /3 agent not running/);
    assert.match(gateway('doctor', '--help').stdout, /4 PowerShell not available/);
    const wrong = gateway('retry', '--everything');
    assert.equal(wrong.code, 2);
    assert.match(wrong.stderr, /Unknown option '--everything'/);
    assert.match(wrong.stderr, /Run 'gateway retry --help' for usage/);
    assert.equal(gateway('retry', '--all', '--study', '1.2').code, 2, 'the rules between options are usage errors too');
  });

  test('init writes a configuration with the AE title exactly as given, and refuses to overwrite it', () => {
    const dir = tempDir('init');
    const file = path.join(dir, 'gateway.json');
    const result = gateway('init', '--ae-title', 'StMarys_CT', '--port', '11112', '--config', file);
    assert.equal(result.code, 0, result.stderr);
    const written = JSON.parse(fs.readFileSync(file, 'utf8'));
    assert.equal(written.aeTitle, 'StMarys_CT');
    assert.equal(written.port, 11112);
    assert.equal(written.dataDir, path.join(dir, 'gateway-data'));
    assert.doesNotThrow(() => parseConfig(written, dir), 'what init writes is valid');
    const again = gateway('init', '--ae-title', 'OTHER', '--config', file);
    assert.equal(again.code, 1);
    assert.match(again.stderr, /already exists; use --force/);
    assert.equal(gateway('init', '--ae-title', 'OTHER', '--config', file, '--force').code, 0);
  });

  test('init refuses an AE title that is not valid, saying why', () => {
    const file = path.join(tempDir('init-bad'), 'gateway.json');
    for (const [title, why] of [
      ['SEVENTEEN_CHARS_X', /at most 16/],
      ['BACK\\SLASH', /backslash/],
      ['CAFÉ', /outside the DICOM default repertoire/],
      [' LEADING', /start or end with a space/],
    ] as const) {
      const result = gateway('init', '--ae-title', title, '--config', file);
      assert.equal(result.code, 2, title);
      assert.match(result.stderr, why);
    }
    assert.equal(gateway('init', '--config', file).code, 2, '--ae-title is required');
    assert.ok(!fs.existsSync(file));
  });

  test('run refuses a bad configuration with a message naming the key', () => {
    const dir = tempDir('run-bad');
    const cases: Array<[Record<string, unknown> | string, RegExp]> = [
      [{ aeTitle: 'GW', dataDir: '.', prot: 4104 }, /unknown key prot/],
      [{ aeTitle: 'GW', dataDir: '.', port: 70000 }, /port must be a whole number from 1 to 65535/],
      [{ aeTitle: 'GW', dataDir: '.', limits: { maxAssociations: 0 } }, /limits\.maxAssociations/],
      [{ aeTitle: 'GW', dataDir: '.', limits: { maxMessageDatasetKb: 0 } }, /limits\.maxMessageDatasetKb/],
      [{ aeTitle: 'GW', dataDir: '.', tls: { port: 2762, certFile: 'c', keyFile: 'k', clientCertificateAeTitles: { CT: ['CT1'] } } }, /tls\.clientCertificateAeTitles needs tls\.caFile/],
      [{ aeTitle: 'GW', dataDir: '.', tls: { port: 2762, certFile: 'c', keyFile: 'k', caFile: 'a', clientCertificateAeTitles: { CT: 'CT1' } } }, /tls\.clientCertificateAeTitles\.CT/],
      [{ aeTitle: 'GW', dataDir: '.', limits: { firstPduTimeoutSeconds: 'soon' } }, /limits\.firstPduTimeoutSeconds/],
      [{ aeTitle: 'gw\\x', dataDir: '.' }, /aeTitle "gw\\\\x" must not contain a backslash/],
      [{ dataDir: '.' }, /aeTitle is required/],
      [{ aeTitle: 'GW' }, /dataDir must be a non-empty string/],
      [{ aeTitle: 'GW', dataDir: '.', bindAddress: 'localhost' }, /bindAddress must be an IP address/],
      ['{ not json', /not valid JSON/],
    ];
    for (const [content, message] of cases) {
      const file = path.join(dir, 'bad.json');
      fs.writeFileSync(file, typeof content === 'string' ? content : JSON.stringify(content));
      const result = gateway('run', '--config', file);
      assert.equal(result.code, 1, JSON.stringify(content));
      assert.match(result.stderr, message);
      assert.match(result.stderr, /bad\.json/, 'the message names the file');
    }
    const missing = gateway('run', '--config', path.join(dir, 'absent.json'));
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /cannot read configuration/);
  });

  test('status of an agent that is not running says so and exits 3', () => {
    const dir = tempDir('status');
    const file = path.join(dir, 'gateway.json');
    assert.equal(gateway('init', '--ae-title', 'STATUSGW', '--config', file).code, 0);
    fs.mkdirSync(path.join(dir, 'gateway-data'));
    const result = gateway('status', '--config', file, '--json');
    assert.equal(result.code, 3);
    const status = JSON.parse(result.stdout);
    assert.equal(status.agent.running, false);
    assert.equal(status.aeTitle, 'STATUSGW');
  });
});

describe('configuration rules', () => {
  test('AE titles: 1-16 characters of the default repertoire, no backslash, case kept', () => {
    assert.equal(aeTitleProblem('A'), undefined);
    assert.equal(aeTitleProblem('SIXTEEN_CHARS_XX'), undefined);
    assert.equal(aeTitleProblem('mixed Case-1'), undefined);
    assert.match(aeTitleProblem('')!, /empty/);
    assert.match(aeTitleProblem('TAB\tX')!, /outside the DICOM default repertoire/);
    assert.match(aeTitleProblem(42)!, /string/);
  });

  test('defaults fill what the file leaves out; relative paths resolve against the file', () => {
    const config = parseConfig({ aeTitle: 'GW', dataDir: 'data' }, '/etc/gateway');
    assert.equal(config.port, 4104);
    assert.equal(config.bindAddress, '0.0.0.0');
    assert.equal(config.dataDir, '/etc/gateway/data');
    assert.equal(config.database.url, undefined, 'absent database.url means embedded PostgreSQL');
    assert.ok(config.limits.maxAssociations > 0 && config.limits.minFreeDiskMb > 0);
    // The receiver's hostile-input limits (README, Security).
    const { firstPduTimeoutSeconds, maxAssociationsPerAddress, maxMessageDatasetKb } = config.limits;
    assert.deepEqual({ firstPduTimeoutSeconds, maxAssociationsPerAddress, maxMessageDatasetKb }, { firstPduTimeoutSeconds: 10, maxAssociationsPerAddress: 8, maxMessageDatasetKb: 1024 });
  });

  test('TLS needs a CA when client certificates are required; allow-lists are checked', () => {
    assert.throws(() => parseConfig({ aeTitle: 'GW', dataDir: '.', tls: { port: 2762, certFile: 'c', keyFile: 'k', requireClientCertificate: true } }, '/'), ConfigError);
    assert.throws(() => parseConfig({ aeTitle: 'GW', dataDir: '.', allowedSourceAddresses: ['10.0.0.0/33'] }, '/'), /not an IP address or CIDR/);
    assert.throws(() => parseConfig({ aeTitle: 'GW', dataDir: '.', allowedCallingAeTitles: ['WAY_TOO_LONG_AE_TITLE'] }, '/'), /allowedCallingAeTitles\[0\]/);
    const ok = parseConfig({ aeTitle: 'GW', dataDir: '.', allowedSourceAddresses: ['10.0.0.0/8', '192.168.1.7', '::1'] }, '/');
    assert.equal(ok.allowedSourceAddresses.length, 3);
  });
});

describe('upstream and upload configuration', () => {
  test('a DICOM-TLS upstream needs host, port and a valid called AE title; STOW-RS needs an https URL', () => {
    const ok = parseConfig({ aeTitle: 'GW', dataDir: '.', upstream: { kind: 'dicom-tls', host: 'cloud.example', port: 2762, calledAeTitle: 'CLOUD', caFile: 'ca.pem' } }, '/etc/gw');
    assert.equal(ok.upstream!.caFile, '/etc/gw/ca.pem');
    assert.equal(ok.upstream!.storageCommitment, true);
    assert.throws(() => parseConfig({ aeTitle: 'GW', dataDir: '.', upstream: { kind: 'dicom-tls', host: 'h', port: 2762 } }, '/'), /upstream\.calledAeTitle/);
    assert.throws(() => parseConfig({ aeTitle: 'GW', dataDir: '.', upstream: { kind: 'stow-rs', url: 'http://cloud/dicomweb' } }, '/'), /https:\/\//);
    assert.throws(() => parseConfig({ aeTitle: 'GW', dataDir: '.', upstream: { kind: 'ftp' } }, '/'), /upstream\.kind/);
    assert.throws(() => parseConfig({ aeTitle: 'GW', dataDir: '.', upstream: { kind: 'stow-rs', url: 'https://c/d', proxy: 'socks5://p:1080' } }, '/'), /http:\/\/ proxy/);
    assert.throws(() => parseConfig({ aeTitle: 'GW', dataDir: '.', upstream: { kind: 'stow-rs', url: 'https://c/d', certFile: 'c.pem' } }, '/'), /certFile and upstream\.keyFile go together/);
  });

  test('upload schedule windows and priorities are checked', () => {
    const config = parseConfig(
      { aeTitle: 'GW', dataDir: '.', upload: { maxMbps: 0, schedule: [{ days: 'weekdays', from: '07:00', to: '19:00', maxMbps: 10 }], priorities: [{ modality: 'CT', priority: 10 }] } },
      '/',
    );
    assert.deepEqual(config.upload.schedule, [{ days: [1, 2, 3, 4, 5], from: '07:00', to: '19:00', maxMbps: 10 }]);
    assert.throws(() => parseConfig({ aeTitle: 'GW', dataDir: '.', upload: { schedule: [{ from: '7am', to: '19:00', maxMbps: 1 }] } }, '/'), /upload\.schedule\[0\]\.from/);
    assert.throws(() => parseConfig({ aeTitle: 'GW', dataDir: '.', upload: { schedule: [{ days: ['funday'], from: '07:00', to: '19:00', maxMbps: 1 }] } }, '/'), /not a day/);
    assert.equal(parseConfig({ aeTitle: 'GW', dataDir: '.' }, '/').upstream, undefined, 'no upstream: receive and keep only');
  });
});
