// Secrets out of gateway.json: the store (<dataDir>/secrets.json) and its permissions, how the configuration takes
// its values, and a real agent that uploads through an authenticating proxy to a cloud that wants its token, both
// given only through `gateway secret set`. DPAPI itself runs only on Windows: its codec is replaced here by a
// reversible stand-in to check the store around it (README, Security, says what was verified where).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import { loadConfig } from '../agent/config/config';
import { readSecrets, secretsPath, writeSecrets, type SecretCodec } from '../agent/config/secrets';
import { startConnectProxy } from './cloud-simulator/connect-proxy';
import { makeCloudPki } from './cloud-simulator/pki';
import { startStowRsSimulator } from './cloud-simulator/stow-rs-server';
import { writeSyntheticCtSeries } from './fixtures/synthetic-ct';
import { createTestDatabase, query } from './helpers/database';
import { runDcmtk } from './helpers/dcmtk';
import { GATEWAY_BIN, startGateway } from './helpers/gateway-process';
import { tempDir } from './helpers/temp-dir';
import { waitFor } from './helpers/wait';

function writeConfig(dataDir: string, upstream: Record<string, unknown>): string {
  fs.mkdirSync(dataDir, { recursive: true });
  const file = path.join(dataDir, 'gateway.json');
  fs.writeFileSync(file, JSON.stringify({ aeTitle: 'SECRETGW', dataDir, upstream }));
  return file;
}

function gatewayCli(args: string[], input = ''): { status: number | null; stdout: string; stderr: string } {
  const run = spawnSync(process.execPath, [GATEWAY_BIN, ...args], { input, encoding: 'utf8' });
  return { status: run.status, stdout: run.stdout, stderr: run.stderr };
}

describe('the secret store', () => {
  test('gateway secret set keeps the value out of gateway.json, in a file only this user may read; the configuration takes it', () => {
    const dataDir = tempDir('secrets-cli');
    const configFile = writeConfig(dataDir, { kind: 'stow-rs', url: 'https://cloud.example/dicom-web', proxy: 'http://gw@proxy.example:3128', token: 'old-token-in-clear' });
    const set = gatewayCli(['secret', 'set', 'upstream.token', '--config', configFile], 'n3w-t0ken\n');
    assert.equal(set.status, 0, set.stderr);
    assert.doesNotMatch(set.stdout, /n3w-t0ken/);
    assert.equal(gatewayCli(['secret', 'set', 'upstream.proxyPassword', '--config', configFile], 'p@ss:w/rd\n').status, 0);

    const file = secretsPath(dataDir);
    assert.equal(fs.statSync(file).mode & 0o777, 0o600);
    if (process.getuid?.() !== 0) assert.equal(fs.statSync(dataDir).mode & 0o777, 0o700);
    assert.doesNotMatch(fs.readFileSync(configFile, 'utf8'), /n3w-t0ken|p@ss/);
    const config = loadConfig(configFile);
    assert.equal(config.upstream?.token, 'n3w-t0ken', 'the stored token wins over the one left in gateway.json');
    assert.equal(config.upstream?.proxy, 'http://gw:p%40ss%3Aw%2Frd@proxy.example:3128');
    assert.equal(loadConfig(configFile, { secrets: false }).upstream?.token, 'old-token-in-clear');

    const list = gatewayCli(['secret', 'list', '--config', configFile]);
    assert.equal(list.stdout.trim(), 'upstream.proxyPassword\nupstream.token');
  });

  test('refuses a store others may read, a store of another protection, an unknown name and an empty value', () => {
    const dataDir = tempDir('secrets-refused');
    const configFile = writeConfig(dataDir, { kind: 'stow-rs', url: 'https://cloud.example/dicom-web' });
    writeSecrets(dataDir, { 'upstream.token': 'tok' });
    fs.chmodSync(secretsPath(dataDir), 0o644);
    assert.throws(() => loadConfig(configFile), /may be read by others \(mode 644\): chmod 600 it/);
    fs.writeFileSync(secretsPath(dataDir), JSON.stringify({ format: 1, protection: 'dpapi-machine', values: { 'upstream.token': 'AQAAANCMnd8B' } }), { mode: 0o600 });
    assert.throws(() => loadConfig(configFile), /protected as dpapi-machine, which this computer cannot open/);
    assert.equal(gatewayCli(['secret', 'set', 'upstream.password', '--config', configFile], 'x\n').status, 2);
    const admin = gatewayCli(['secret', 'set', 'database.adminPassword', '--config', configFile], 'x\n');
    assert.equal(admin.status, 2, "the embedded database superuser password is the agent's own");
    assert.match(admin.stderr, /not a secret you can set/);
    assert.equal(gatewayCli(['secret', 'set', 'upstream.token', '--config', configFile], '').status, 2);
  });

  test('the password of a database server of your own comes from the store when database.url leaves it out', () => {
    const dataDir = tempDir('secrets-database');
    fs.mkdirSync(dataDir, { recursive: true });
    const configFile = path.join(dataDir, 'gateway.json');
    fs.writeFileSync(configFile, JSON.stringify({ aeTitle: 'SECRETGW', dataDir, database: { url: 'postgres://gw@db.example:5432/gateway' } }));
    assert.equal(gatewayCli(['secret', 'set', 'database.password', '--config', configFile], 'db:p@ss\n').status, 0);
    assert.equal(loadConfig(configFile).database.url, 'postgres://gw:db%3Ap%40ss@db.example:5432/gateway');
    assert.equal(loadConfig(configFile, { secrets: false }).database.url, 'postgres://gw@db.example:5432/gateway');
  });

  test('values go through the codec both ways, opened once while the file stays the same (the compressor reloads often)', () => {
    const dataDir = tempDir('secrets-codec');
    let opened = 0;
    const reversed = (values: Record<string, string>) => Object.fromEntries(Object.entries(values).map(([k, v]) => [k, [...v].reverse().join('')]));
    const codec: SecretCodec = {
      protection: 'dpapi-machine',
      protect: reversed,
      unprotect: (values) => {
        opened++;
        return reversed(values);
      },
    };
    writeSecrets(dataDir, { 'upstream.token': 'abc123' }, codec);
    assert.doesNotMatch(fs.readFileSync(secretsPath(dataDir), 'utf8'), /abc123/);
    assert.deepEqual(readSecrets(dataDir, codec), { 'upstream.token': 'abc123' });
    assert.deepEqual(readSecrets(dataDir, codec), { 'upstream.token': 'abc123' });
    assert.equal(opened, 1);
    writeSecrets(dataDir, { 'upstream.proxyPassword': 'pw' }, codec);
    assert.deepEqual(readSecrets(dataDir, codec), { 'upstream.token': 'abc123', 'upstream.proxyPassword': 'pw' });
    assert.equal(opened, 2);
  });
});

test('a real agent uploads through an authenticating proxy to a cloud that wants a token, both only in the secret store', async () => {
  const pki = makeCloudPki(tempDir('secrets-pki'));
  const cloud = await startStowRsSimulator({ pki, storeDir: tempDir('secrets-cloud'), token: 'cloud-secret-token' });
  const proxy = await startConnectProxy({ auth: { user: 'gateway', password: 'pr0xy:pass' } });
  const databaseUrl = await createTestDatabase();
  const dataDir = tempDir('secrets-agent');
  const upstream = { kind: 'stow-rs', url: cloud.url, caFile: pki.caFile, proxy: `http://gateway@127.0.0.1:${proxy.port}`, storageCommitment: false };
  const configFile = writeConfig(dataDir, upstream);
  assert.equal(gatewayCli(['secret', 'set', 'upstream.token', '--config', configFile], 'cloud-secret-token\n').status, 0);
  assert.equal(gatewayCli(['secret', 'set', 'upstream.proxyPassword', '--config', configFile], 'pr0xy:pass\n').status, 0);
  const gateway = await startGateway({
    dataDir,
    database: databaseUrl,
    aeTitle: 'SECRETGW',
    config: { upstream, studies: { seriesQuietSeconds: 1, studyQuietSeconds: 1, forceCompleteMinutes: 60 }, upload: { retryBaseSeconds: 1, retryMaxSeconds: 2 } },
  });
  try {
    assert.doesNotMatch(fs.readFileSync(gateway.configFile, 'utf8'), /cloud-secret-token|pr0xy/);
    const series = writeSyntheticCtSeries(tempDir('secrets-ct'), { slices: 3, rows: 32, columns: 32 });
    assert.equal((await runDcmtk('storescu', ['-aec', 'SECRETGW', '127.0.0.1', String(gateway.port), ...series.files])).code, 0);
    await waitFor('every instance delivered', async () => (await query(databaseUrl, "SELECT count(*)::int AS n FROM uploads WHERE state = 'done'"))[0].n === 3);
    assert.ok(cloud.requests.length > 0 && cloud.requests.every((r) => r.authorization === 'Bearer cloud-secret-token'));
    assert.ok(proxy.requests.some((r) => r.status === 200 && r.authorization === `Basic ${Buffer.from('gateway:pr0xy:pass').toString('base64')}`));
    assert.doesNotMatch(gateway.output(), /cloud-secret-token|pr0xy:pass|pr0xy%3Apass/, 'no secret in the logs');
  } finally {
    await gateway.stop();
    await cloud.stop();
    await proxy.stop();
  }
});
