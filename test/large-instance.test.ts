// A 1 GB multi-frame instance is streamed to disk, never held in memory.
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { createTestDatabase, query } from './helpers/database';
import { runDcmtk } from './helpers/dcmtk';
import { startGateway } from './helpers/gateway-process';
import { tempDir } from './helpers/temp-dir';
import { writeLargeMultiframe } from './fixtures/large-multiframe';

/** Peak resident memory of a process so far (VmHWM), in bytes. */
function peakRss(pid: number): number {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/VmHWM:\s+(\d+) kB/.exec(status)![1]) * 1024;
}

async function sha256OfFile(file: string, start = 0): Promise<Buffer> {
  const hash = crypto.createHash('sha256');
  for await (const chunk of fs.createReadStream(file, { start, highWaterMark: 4 * 1024 * 1024 })) hash.update(chunk as Buffer);
  return hash.digest();
}

/** Where the dataset starts in a Part 10 file. */
function datasetOffset(file: string): number {
  const head = Buffer.alloc(1024);
  const fd = fs.openSync(file, 'r');
  fs.readSync(fd, head, 0, head.length, 0);
  fs.closeSync(fd);
  return 132 + 12 + head.readUInt32LE(140);
}

test('a 1 GB multi-frame instance is kept intact with the agent under 300 MB peak RSS', async (t) => {
  const source = writeLargeMultiframe(path.join(tempDir('large-src'), 'large.dcm'), { bytes: 1.1e9 });
  assert.ok(source.fileSize > 1024 ** 3, 'the instance is over 1 GiB');
  const databaseUrl = await createTestDatabase();
  const gateway = await startGateway({ dataDir: tempDir('large'), database: databaseUrl, aeTitle: 'LARGEGW' });
  try {
    const sent = await runDcmtk('storescu', ['-aec', 'LARGEGW', '127.0.0.1', String(gateway.port), source.path], 300000);
    assert.equal(sent.code, 0, sent.stderr);
    const rss = peakRss(gateway.pid);
    const [row] = await query(databaseUrl, 'SELECT spool_path, file_bytes, dataset_sha256 FROM instances WHERE sop_instance_uid = $1', [source.sopInstanceUid]);
    const kept = path.join(gateway.dataDir, 'spool', ...String(row.spool_path).split('/'));
    const sourceDigest = await sha256OfFile(source.path, datasetOffset(source.path));
    assert.ok((await sha256OfFile(kept, datasetOffset(kept))).equals(sourceDigest), 'dataset bytes identical');
    assert.ok(Buffer.from(row.dataset_sha256).equals(sourceDigest), 'indexed hash matches');
    assert.equal(Number(row.file_bytes), fs.statSync(kept).size);
    assert.ok(rss < 300 * 1024 * 1024, `peak RSS ${(rss / 1048576).toFixed(0)} MB`);
    t.diagnostic(`1 GB instance received; agent peak RSS ${(rss / 1048576).toFixed(0)} MB`);
  } finally {
    await gateway.stop();
  }
});
