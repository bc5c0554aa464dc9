// The receiver against real DCMTK peers: echoscu and storescu send, storescp +B is the reference for the
// bytes a receiver must keep.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { createTestDatabase, query } from './helpers/database';
import { datasetBytes, runDcmtk, startStorescp } from './helpers/dcmtk';
import { startGateway, type GatewayProcess } from './helpers/gateway-process';
import { tempDir } from './helpers/temp-dir';
import { listDebianSamples } from './fixtures/debian-samples';
import { readPart10Meta } from './fixtures/part10';
import { writeSyntheticCtSeries } from './fixtures/synthetic-ct';

/** Every kept instance of a spool, by SOP Instance UID. */
function spoolFiles(dataDir: string): Map<string, string> {
  const spool = path.join(dataDir, 'spool');
  const files = new Map<string, string>();
  for (const folder of fs.readdirSync(spool)) {
    if (folder.startsWith('.')) continue;
    for (const name of fs.readdirSync(path.join(spool, folder))) {
      const file = path.join(spool, folder, name);
      files.set(readPart10Meta(file)!.mediaStorageSopInstanceUid!, file);
    }
  }
  return files;
}

function referenceFiles(dir: string): Map<string, string> {
  const files = new Map<string, string>();
  for (const name of fs.readdirSync(dir)) {
    const file = path.join(dir, name);
    files.set(readPart10Meta(file)!.mediaStorageSopInstanceUid!, file);
  }
  return files;
}

describe('receiving from DCMTK', () => {
  let gateway: GatewayProcess;
  let databaseUrl: string;

  before(async () => {
    databaseUrl = await createTestDatabase();
    gateway = await startGateway({ dataDir: tempDir('receive'), database: databaseUrl, aeTitle: 'Site_CT1' });
  });
  after(() => gateway.stop());

  test('C-ECHO to the licensed AE title and to the alias GATEWAY succeeds', async () => {
    for (const ae of ['Site_CT1', 'GATEWAY']) {
      const result = await runDcmtk('echoscu', ['-aec', ae, '127.0.0.1', String(gateway.port)]);
      assert.equal(result.code, 0, `echoscu to ${ae}: ${result.stderr}`);
    }
  });

  test('a wrong called AE title, or the right one in another case, is rejected as not recognized', async () => {
    for (const ae of ['OTHER', 'SITE_CT1', 'site_ct1']) {
      const result = await runDcmtk('echoscu', ['-aec', ae, '127.0.0.1', String(gateway.port)]);
      assert.notEqual(result.code, 0, `echoscu to ${ae} should fail`);
      assert.match(result.stderr, /Called AE Title Not Recognized/, `echoscu to ${ae}`);
      assert.match(result.stderr, /Rejected Permanent/);
    }
  });

  test('a 200-slice CT series is kept byte for byte as storescp +B keeps it, and indexed', async () => {
    const series = writeSyntheticCtSeries(tempDir('ct'), { slices: 200, seed: 7 });
    const reference = await startStorescp(tempDir('reference'));
    try {
      const sent = await runDcmtk('storescu', ['-aec', 'Site_CT1', '127.0.0.1', String(gateway.port), ...series.files]);
      assert.equal(sent.code, 0, sent.stderr);
      const referenceSent = await runDcmtk('storescu', ['-aec', 'REFERENCE', '127.0.0.1', String(reference.port), ...series.files]);
      assert.equal(referenceSent.code, 0, referenceSent.stderr);
    } finally {
      await reference.stop();
    }
    const kept = spoolFiles(gateway.dataDir);
    const expected = referenceFiles(reference.dir);
    for (const uid of series.sopInstanceUids) {
      assert.ok(kept.has(uid), `instance ${uid} is in the spool`);
      assert.ok(kept.get(uid)!.endsWith('.dcm'));
      assert.ok(datasetBytes(kept.get(uid)!).equals(datasetBytes(expected.get(uid)!)), `dataset bytes of ${uid} equal storescp's`);
      const meta = readPart10Meta(kept.get(uid)!)!;
      assert.equal(meta.transferSyntaxUid, '1.2.840.10008.1.2.1');
      assert.equal(meta.mediaStorageSopClassUid, '1.2.840.10008.5.1.4.1.1.2');
    }
    const dump = await runDcmtk('dcmdump', ['-q', kept.get(series.sopInstanceUids[0])!]);
    assert.equal(dump.code, 0, 'dcmdump reads the kept file');
    assert.match(dump.stdout, /\(0009,1001\) LO \[keep me byte-exact/, 'private tag kept');

    const rows = await query(
      databaseUrl,
      'SELECT count(*)::int AS n, count(DISTINCT study_uid)::int AS studies, count(DISTINCT series_uid)::int AS series, min(calling_ae) AS ae FROM instances WHERE study_uid = $1',
      [series.studyInstanceUid],
    );
    assert.deepEqual(rows[0], { n: 200, studies: 1, series: 1, ae: 'STORESCU' });
    const [study] = await query(databaseUrl, 'SELECT modality FROM series WHERE series_uid = $1', [series.seriesInstanceUid]);
    assert.equal(study.modality, 'CT');
  });

  test('one log line per association, without patient names or IDs', async () => {
    await gateway.waitForLog(/"instances":200/);
    const ended = gateway.logLines().filter((line) => line.message === 'association ended' && line.instances === 200);
    assert.equal(ended.length, 1);
    assert.equal(ended[0].callingAe, 'STORESCU');
    assert.equal(ended[0].outcome, 'released');
    assert.ok(Number(ended[0].bytes) > 100e6);
    const logFiles = fs.readdirSync(path.join(gateway.dataDir, 'logs')).filter((f) => f.endsWith('.log'));
    assert.ok(logFiles.length > 0, 'a daily log file exists');
    const everything = gateway.output() + logFiles.map((f) => fs.readFileSync(path.join(gateway.dataDir, 'logs', f), 'utf8')).join('');
    assert.doesNotMatch(everything, /SYNTHETIC|SYN0001|SYNACC/);
  });

  test('every Debian sample file, in every transfer syntax storescu can send, is kept as storescp keeps it', async () => {
    const samples = listDebianSamples({ sendableByStorescu: true });
    assert.ok(samples.length > 50, `Debian sample files are installed (found ${samples.length})`);
    const groups = new Map<string, Map<string, (typeof samples)[number]>>();
    for (const sample of samples) {
      const group = groups.get(sample.transferSyntaxUid) ?? new Map();
      if (!group.has(sample.sopInstanceUid)) group.set(sample.sopInstanceUid, sample);
      groups.set(sample.transferSyntaxUid, group);
    }
    const covered = new Set<string>();
    // pydicom ships some instances in several transfer syntaxes: each group is compared before the next one
    // resends the same SOP Instance UIDs in other bytes (which the gateway keeps as corrections).
    for (const group of groups.values()) {
      const members = [...group.values()];
      const args = members[0].storescuArgs!;
      const reference = await startStorescp(tempDir('reference-samples'));
      try {
        const toGateway = await runDcmtk('storescu', [...args, '-aec', 'GATEWAY', '127.0.0.1', String(gateway.port), ...members.map((s) => s.path)]);
        assert.equal(toGateway.code, 0, `storescu ${args.join(' ')} to the gateway: ${toGateway.stderr}`);
        const toReference = await runDcmtk('storescu', [...args, '-aec', 'REFERENCE', '127.0.0.1', String(reference.port), ...members.map((s) => s.path)]);
        assert.equal(toReference.code, 0, toReference.stderr);
      } finally {
        await reference.stop();
      }
      const kept = spoolFiles(gateway.dataDir);
      const expected = referenceFiles(reference.dir);
      for (const sample of members) {
        const name = `${path.basename(sample.path)} (${sample.transferSyntaxName})`;
        const ours = kept.get(sample.sopInstanceUid);
        assert.ok(ours, `${name} is in the spool`);
        assert.ok(datasetBytes(ours).equals(datasetBytes(expected.get(sample.sopInstanceUid)!)), `${name}: dataset bytes equal storescp's`);
        assert.equal(readPart10Meta(ours)!.transferSyntaxUid, sample.transferSyntaxUid, `${name} kept in the transfer syntax it was sent in`);
      }
      covered.add(members[0].transferSyntaxName);
    }
    assert.ok(covered.size >= 11, `transfer syntaxes covered: ${[...covered].join(', ')}`);
  });
});
