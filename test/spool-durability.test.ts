// What is kept, what is refused, and how the spool and the database agree after a restart.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { describe, test } from 'node:test';
import { ClientAssociation } from '../agent/dicom/association';
import { CommandField, DataSetType, encodeCommand } from '../agent/dicom/command';
import { pDataPdu } from '../agent/dicom/pdu';
import { TransferSyntax } from '../agent/dicom/uids';
import { createTestDatabase, query } from './helpers/database';
import { datasetBytes, runDcmtk } from './helpers/dcmtk';
import { GATEWAY_BIN, launchGateway, startGateway, type GatewayProcess } from './helpers/gateway-process';
import { tempDir } from './helpers/temp-dir';
import { el, randomUid, writePart10 } from './fixtures/part10';
import { writeSyntheticCtSeries } from './fixtures/synthetic-ct';

function keptFiles(dataDir: string): string[] {
  const spool = path.join(dataDir, 'spool');
  return fs
    .readdirSync(spool)
    .filter((f) => !f.startsWith('.'))
    .flatMap((folder) => fs.readdirSync(path.join(spool, folder)).map((name) => path.join(spool, folder, name)));
}

/** Puts a file where the spool's incoming folder was, so that no spool file can be created; returns its path. */
function breakIncomingFolder(dataDir: string): string {
  const incoming = path.join(dataDir, 'spool', '.incoming');
  fs.rmSync(incoming, { recursive: true });
  fs.writeFileSync(incoming, 'not a folder');
  return incoming;
}

function incomingFiles(dataDir: string): string[] {
  return fs.readdirSync(path.join(dataDir, 'spool', '.incoming'));
}

async function store(gateway: GatewayProcess, files: string[]) {
  return runDcmtk('storescu', ['-v', '-aec', gateway.aeTitle, '127.0.0.1', String(gateway.port), ...files]);
}

/** An association of our own client to the gateway for secondary-capture C-STOREs sent PDU by PDU. */
async function openStoreAssociation(gateway: GatewayProcess, callingAe: string) {
  const socket = await new Promise<net.Socket>((resolve, reject) => {
    const s = net.connect(gateway.port, '127.0.0.1', () => resolve(s));
    s.once('error', reject);
  });
  const association = await ClientAssociation.open(
    socket,
    { calledAe: gateway.aeTitle, callingAe, contexts: [{ abstractSyntax: SECONDARY_CAPTURE, transferSyntaxes: [TransferSyntax.ExplicitVRLittleEndian] }], timeoutMs: 10000 },
    { peer: 'the gateway' },
  );
  const contextId = association.contexts[0].id;
  /** Sends the C-STORE request's command set; its dataset is the caller's to send. */
  const sendStoreCommand = (sopInstanceUid: string) =>
    association.write(
      pDataPdu(
        contextId,
        encodeCommand({
          AffectedSOPClassUID: SECONDARY_CAPTURE,
          CommandField: CommandField.CStoreRq,
          MessageID: 1,
          Priority: 0,
          CommandDataSetType: DataSetType.Present,
          AffectedSOPInstanceUID: sopInstanceUid,
        }),
        true,
        true,
      ),
      10000,
    );
  return { socket, association, contextId, sendStoreCommand };
}

const SECONDARY_CAPTURE = '1.2.840.10008.5.1.4.1.1.7';

/** A small secondary-capture instance, with the given UIDs, for tests that need odd content. */
function writeInstance(file: string, uids: { study?: string; series?: string; sop: string }, text = 'v1'): string {
  const elements = [
    el(0x00080016, 'UI', '1.2.840.10008.5.1.4.1.1.7'),
    el(0x00080018, 'UI', uids.sop),
    el(0x00080060, 'CS', 'OT'),
    el(0x00100010, 'PN', 'TEST^DURABILITY'),
    el(0x00200011, 'IS', '1'),
    el(0x00204000, 'LT', text),
  ];
  if (uids.study) elements.push(el(0x0020000d, 'UI', uids.study));
  if (uids.series) elements.push(el(0x0020000e, 'UI', uids.series));
  writePart10(
    file,
    elements.sort((a, b) => a.tag - b.tag),
  );
  return file;
}

describe('corrections and duplicates', () => {
  test('a correction acknowledged before either version was indexed: the next start indexes the later one', async () => {
    const databaseUrl = await createTestDatabase();
    let gateway = await startGateway({ dataDir: tempDir('nocommit-twice'), database: databaseUrl, aeTitle: 'TWICEGW' });
    try {
      await query(databaseUrl, "CREATE FUNCTION refuse_commit() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'commit refused by the test'; END $$");
      await query(databaseUrl, 'CREATE CONSTRAINT TRIGGER refuse_commit AFTER INSERT ON instances DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION refuse_commit()');
      const dir = tempDir('nocommit-twice-files');
      const uids = { study: randomUid(), series: randomUid(), sop: randomUid() };
      assert.equal((await store(gateway, [writeInstance(path.join(dir, 'first.dcm'), uids, 'first version')])).code, 0);
      assert.equal((await store(gateway, [writeInstance(path.join(dir, 'second.dcm'), uids, 'corrected version')])).code, 0);
      assert.equal(keptFiles(gateway.dataDir).length, 2, 'both versions kept, neither indexed');
      assert.equal(await gateway.stop(), 0);

      await query(databaseUrl, 'DROP TRIGGER refuse_commit ON instances');
      gateway = await launchGateway(gateway.configFile, gateway.port, gateway.aeTitle, gateway.dataDir);
      const files = keptFiles(gateway.dataDir);
      assert.equal(files.length, 1, 'the earlier version is gone');
      assert.ok(fs.readFileSync(files[0]).includes('corrected version'), 'the later version is the one kept');
      assert.deepEqual(await query(databaseUrl, 'SELECT corrections FROM instances'), [{ corrections: 1 }]);
    } finally {
      await gateway.stop();
    }
  });

  test('the same bytes again change nothing; different bytes replace the kept copy and are recorded as a correction', async () => {
    const databaseUrl = await createTestDatabase();
    const gateway = await startGateway({ dataDir: tempDir('dup'), database: databaseUrl, aeTitle: 'DUPGW' });
    try {
      const dir = tempDir('dup-files');
      const uids = { study: randomUid(), series: randomUid(), sop: randomUid() };
      const first = writeInstance(path.join(dir, 'first.dcm'), uids, 'first version');
      assert.equal((await store(gateway, [first])).code, 0);
      const [kept] = keptFiles(gateway.dataDir);
      const before = fs.statSync(kept);

      assert.equal((await store(gateway, [first])).code, 0, 'a resend of the same bytes is acknowledged');
      assert.deepEqual(keptFiles(gateway.dataDir), [kept], 'still one file, the same one');
      assert.equal(fs.statSync(kept).mtimeMs, before.mtimeMs, 'the kept file was not touched');
      assert.deepEqual(await query(databaseUrl, 'SELECT corrections FROM instances'), [{ corrections: 0 }]);

      const corrected = writeInstance(path.join(dir, 'second.dcm'), uids, 'corrected version');
      assert.equal((await store(gateway, [corrected])).code, 0);
      const files = keptFiles(gateway.dataDir);
      assert.equal(files.length, 1, 'the old copy is gone');
      assert.notEqual(files[0], kept);
      assert.match(fs.readFileSync(files[0], 'latin1'), /corrected version/);
      assert.deepEqual(await query(databaseUrl, 'SELECT corrections FROM instances'), [{ corrections: 1 }]);
      assert.equal((await query(databaseUrl, 'SELECT count(*)::int AS n FROM instance_corrections'))[0].n, 1);
      await gateway.waitForLog(/instance corrected/);

      const status = execFileSync(process.execPath, [GATEWAY_BIN, 'status', '--config', gateway.configFile], { encoding: 'utf8' });
      assert.match(status, /1 studies, 1 instances/);
      assert.match(status, /Corrections\s+1/);
    } finally {
      await gateway.stop();
    }
  });
});

describe('refusals', () => {
  test('below the free-disk threshold a C-STORE is refused with A700 and nothing is kept', async () => {
    const databaseUrl = await createTestDatabase();
    const gateway = await startGateway({ dataDir: tempDir('full'), database: databaseUrl, aeTitle: 'FULLGW', config: { limits: { minFreeDiskMb: 1_000_000_000 } } });
    try {
      const series = writeSyntheticCtSeries(tempDir('full-ct'), { slices: 2, rows: 64, columns: 64 });
      const result = await store(gateway, series.files);
      assert.match(result.stderr, /Refused: OutOfResources/);
      assert.deepEqual(keptFiles(gateway.dataDir), []);
      assert.deepEqual(incomingFiles(gateway.dataDir), []);
      assert.equal((await query(databaseUrl, 'SELECT count(*)::int AS n FROM instances'))[0].n, 0);
      const echo = await runDcmtk('echoscu', ['-aec', 'FULLGW', '127.0.0.1', String(gateway.port)]);
      assert.equal(echo.code, 0, 'C-ECHO still answers');
    } finally {
      await gateway.stop();
    }
  });

  test('a dataset without study or series UID is refused with C000 (cannot understand) and nothing is kept', async () => {
    const databaseUrl = await createTestDatabase();
    const gateway = await startGateway({ dataDir: tempDir('nouid'), database: databaseUrl, aeTitle: 'UIDGW' });
    try {
      const file = writeInstance(path.join(tempDir('nouid-files'), 'no-study.dcm'), { sop: randomUid() });
      const result = await store(gateway, [file]);
      assert.match(result.stderr, /Error: CannotUnderstand/);
      assert.deepEqual(keptFiles(gateway.dataDir), []);
      assert.deepEqual(incomingFiles(gateway.dataDir), []);
    } finally {
      await gateway.stop();
    }
  });

  test('a disk write failure answers A700, leaves no file, and the next store works', async () => {
    const databaseUrl = await createTestDatabase();
    const gateway = await startGateway({ dataDir: tempDir('wfail'), database: databaseUrl, aeTitle: 'WFAILGW' });
    try {
      const incoming = breakIncomingFolder(gateway.dataDir);
      const series = writeSyntheticCtSeries(tempDir('wfail-ct'), { slices: 1, rows: 64, columns: 64 });
      const result = await store(gateway, series.files);
      assert.match(result.stderr, /Refused: OutOfResources/);
      assert.deepEqual(keptFiles(gateway.dataDir), []);
      fs.rmSync(incoming);
      fs.mkdirSync(incoming);
      assert.equal((await store(gateway, series.files)).code, 0);
      assert.equal(keptFiles(gateway.dataDir).length, 1);
    } finally {
      await gateway.stop();
    }
  });

  test('a spool file that cannot be created, its dataset arriving after the command: A700 at once, no hang', async () => {
    const databaseUrl = await createTestDatabase();
    const gateway = await startGateway({ dataDir: tempDir('wfail-late'), database: databaseUrl, aeTitle: 'WLATEGW' });
    try {
      breakIncomingFolder(gateway.dataDir);
      const { association, contextId, sendStoreCommand } = await openStoreAssociation(gateway, 'LATESCU');
      const uids = { study: randomUid(), series: randomUid(), sop: randomUid() };
      const dataset = datasetBytes(writeInstance(path.join(tempDir('wfail-late-files'), 'late.dcm'), uids));
      await sendStoreCommand(uids.sop);
      // The spool file's opening fails meanwhile, before any of the dataset came.
      await new Promise((resolve) => setTimeout(resolve, 500));
      await association.write(pDataPdu(contextId, dataset, false, true), 10000);
      const response = await association.nextResponse(CommandField.CStoreRsp, 15000, 'a C-STORE-RSP');
      assert.equal(response.status, 0xa700);
      assert.deepEqual(keptFiles(gateway.dataDir), []);
      await association.release(10000);
    } finally {
      await gateway.stop();
    }
  });

  test('connections cut in the middle of large instances leave no partial file and no open spool file', async () => {
    const gateway = await startGateway({ dataDir: tempDir('cut'), database: await createTestDatabase(), aeTitle: 'CUTGW' });
    try {
      // 1 MiB of a dataset that never ends: the spool writes it in batches while the connection is cut.
      const fragment = Buffer.alloc(128 * 1024, 0x20);
      for (let i = 0; i < 20; i++) {
        const { socket, association, contextId, sendStoreCommand } = await openStoreAssociation(gateway, 'CUTSCU');
        await sendStoreCommand(randomUid());
        for (let k = 0; k < 8; k++) await association.write(pDataPdu(contextId, fragment, false, false), 10000);
        socket.destroy();
      }
      const openSpoolFiles = () =>
        fs.readdirSync(`/proc/${gateway.pid}/fd`).filter((fd) => {
          try {
            return fs.readlinkSync(`/proc/${gateway.pid}/fd/${fd}`).includes(`${path.sep}.incoming${path.sep}`);
          } catch {
            return false; // closed while we looked
          }
        });
      const deadline = Date.now() + 10000;
      while ((incomingFiles(gateway.dataDir).length > 0 || openSpoolFiles().length > 0) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 100));
      assert.deepEqual(incomingFiles(gateway.dataDir), [], 'no partial file left');
      assert.deepEqual(openSpoolFiles(), [], 'no spool file left open');
      assert.deepEqual(keptFiles(gateway.dataDir), []);
      const series = writeSyntheticCtSeries(tempDir('cut-after'), { slices: 3 });
      assert.equal((await store(gateway, series.files)).code, 0, 'the next push is stored');
      assert.equal(keptFiles(gateway.dataDir).length, 3);
    } finally {
      await gateway.stop();
    }
  });

  test('a value the database could not store (a NUL inside the modality) is refused with C000 before anything is acknowledged', async () => {
    const gateway = await startGateway({ dataDir: tempDir('nul'), database: await createTestDatabase(), aeTitle: 'NULGW' });
    try {
      const file = path.join(tempDir('nul-files'), 'nul.dcm');
      writePart10(file, [
        el(0x00080016, 'UI', '1.2.840.10008.5.1.4.1.1.7'),
        el(0x00080018, 'UI', randomUid()),
        el(0x00080060, 'CS', 'O\0T'),
        el(0x0020000d, 'UI', randomUid()),
        el(0x0020000e, 'UI', randomUid()),
      ]);
      const result = await store(gateway, [file]);
      assert.match(result.stderr, /Error: CannotUnderstand/);
      assert.deepEqual(keptFiles(gateway.dataDir), []);
    } finally {
      await gateway.stop();
    }
  });
});

describe('the file is the record', () => {
  test('while the database refuses the rows, instances are still acknowledged, their files kept, and indexed once it takes them', async () => {
    const databaseUrl = await createTestDatabase();
    const gateway = await startGateway({ dataDir: tempDir('dbfail'), database: databaseUrl, aeTitle: 'DBFAILGW' });
    try {
      await query(databaseUrl, 'ALTER FUNCTION record_instance RENAME TO record_instance_disabled');
      const series = writeSyntheticCtSeries(tempDir('dbfail-ct'), { slices: 2, rows: 64, columns: 64 });
      const result = await store(gateway, series.files);
      assert.equal(result.code, 0);
      assert.equal((result.stderr.match(/Received Store Response \(Success\)/g) ?? []).length, 2, 'both acknowledged');
      assert.equal(keptFiles(gateway.dataDir).length, 2, 'their files are durable in place');
      assert.equal((await query(databaseUrl, 'SELECT 1 FROM instances')).length, 0);
      assert.ok(gateway.logLines().some((l) => l.level === 'error' && /database refused the rows of an acknowledged instance/.test(String(l.message))));

      await query(databaseUrl, 'ALTER FUNCTION record_instance_disabled RENAME TO record_instance');
      const deadline = Date.now() + 15_000;
      while ((await query(databaseUrl, 'SELECT 1 FROM instances i JOIN uploads u USING (sop_instance_uid)')).length < 2) {
        assert.ok(Date.now() < deadline, 'indexed and queued for upload without a restart');
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
      assert.ok(gateway.logLines().some((l) => /indexed after the database had refused it/.test(String(l.message))));
    } finally {
      await gateway.stop();
    }
  });
});

describe('startup recovery', () => {
  test('an instance acknowledged whose rows were never committed keeps its file and is indexed at the next start', async () => {
    const databaseUrl = await createTestDatabase();
    let gateway = await startGateway({ dataDir: tempDir('nocommit'), database: databaseUrl, aeTitle: 'NOCOMMITGW' });
    const series = writeSyntheticCtSeries(tempDir('nocommit-ct'), { slices: 2, rows: 64, columns: 64 });
    try {
      // Every commit that adds an instance fails, after record_instance() succeeded: the window between the answer
      // and the commit (an agent killed there, or a database that fails then) held open until the agent stops.
      await query(databaseUrl, "CREATE FUNCTION refuse_commit() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'commit refused by the test'; END $$");
      await query(databaseUrl, 'CREATE CONSTRAINT TRIGGER refuse_commit AFTER INSERT ON instances DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION refuse_commit()');
      const result = await store(gateway, series.files);
      assert.equal(result.code, 0);
      assert.equal((result.stderr.match(/Received Store Response \(Success\)/g) ?? []).length, 2, 'both acknowledged');
      assert.equal(keptFiles(gateway.dataDir).length, 2, 'their files are kept');
      assert.equal((await query(databaseUrl, 'SELECT 1 FROM instances')).length, 0, 'no rows committed');
      assert.ok(gateway.logLines().some((l) => l.level === 'error' && /startup recovery will index it/.test(String(l.message))));
      assert.equal(await gateway.stop(), 0, 'clean shutdown');

      await query(databaseUrl, 'DROP TRIGGER refuse_commit ON instances');
      gateway = await launchGateway(gateway.configFile, gateway.port, gateway.aeTitle, gateway.dataDir);
      const recovery = gateway.logLines().find((l) => l.message === 'spool recovery finished')!;
      assert.equal(recovery.filesIndexed, 2);
      const queued = await query(databaseUrl, 'SELECT i.sop_instance_uid FROM instances i JOIN uploads u USING (sop_instance_uid) ORDER BY 1');
      assert.deepEqual(
        queued.map((r) => r.sop_instance_uid),
        [...series.sopInstanceUids].sort(),
        'indexed and queued for upload',
      );
    } finally {
      await gateway.stop();
    }
  });

  test('removes partial files, indexes kept files without rows, and reports rows without files', async () => {
    const databaseUrl = await createTestDatabase();
    let gateway = await startGateway({ dataDir: tempDir('recover'), database: databaseUrl, aeTitle: 'RECOVERGW' });
    const series = writeSyntheticCtSeries(tempDir('recover-ct'), { slices: 3, rows: 64, columns: 64 });
    assert.equal((await store(gateway, series.files)).code, 0);
    assert.equal(await gateway.stop(), 0, 'clean shutdown');

    fs.writeFileSync(path.join(gateway.dataDir, 'spool', '.incoming', 'interrupted.part'), Buffer.alloc(1000));
    const [unindexed, lost] = series.sopInstanceUids;
    // As if the agent had died between the rename and the commit: no rows at all for this instance.
    await query(databaseUrl, 'DELETE FROM uploads WHERE sop_instance_uid = $1', [unindexed]);
    await query(databaseUrl, 'DELETE FROM compressions WHERE sop_instance_uid = $1', [unindexed]);
    await query(databaseUrl, 'DELETE FROM instances WHERE sop_instance_uid = $1', [unindexed]);
    const lostFile = keptFiles(gateway.dataDir).find((f) => path.basename(f).startsWith(`${lost}_`))!;
    fs.rmSync(lostFile);

    gateway = await launchGateway(gateway.configFile, gateway.port, gateway.aeTitle, gateway.dataDir);
    try {
      assert.deepEqual(incomingFiles(gateway.dataDir), [], 'partial file removed');
      const rows = await query(databaseUrl, 'SELECT sop_instance_uid, missing_since IS NOT NULL AS missing FROM instances ORDER BY sop_instance_uid');
      assert.equal(rows.length, 3, 'the file without a row was indexed again');
      assert.deepEqual(
        rows.filter((r) => r.missing).map((r) => r.sop_instance_uid),
        [lost],
      );
      const recovery = gateway.logLines().find((l) => l.message === 'spool recovery finished')!;
      assert.equal(recovery.partialFilesRemoved, 1);
      assert.equal(recovery.filesIndexed, 1);
      assert.equal(recovery.rowsWithoutFiles, 1);
      assert.ok(gateway.logLines().some((l) => l.level === 'error' && /SPOOL FILES MISSING/.test(String(l.message))));
      const status = execFileSync(process.execPath, [GATEWAY_BIN, 'status', '--config', gateway.configFile], { encoding: 'utf8' });
      assert.match(status, /MISSING FILES\s+1/);

      // The sender resends the lost instance: it is kept again and no longer missing.
      assert.equal((await store(gateway, [series.files[1]])).code, 0);
      const [again] = await query(databaseUrl, 'SELECT missing_since FROM instances WHERE sop_instance_uid = $1', [lost]);
      assert.equal(again.missing_since, null);
    } finally {
      await gateway.stop();
    }
  });
});
