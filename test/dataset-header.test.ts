// The streaming reader of indexed attributes, checked against DCMTK's dcmdump on every Debian sample file, in
// every transfer syntax they carry (implicit/explicit, big endian, deflated, encapsulated, sequences).
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import { test } from 'node:test';
import { DatasetHeaderReader } from '../agent/spool/dataset-header';
import { readPart10File } from '../agent/spool/part10-reader';
import { listDebianSamples } from './fixtures/debian-samples';

const TAGS = { studyInstanceUid: '0020,000d', seriesInstanceUid: '0020,000e', sopInstanceUid: '0008,0018', sopClassUid: '0008,0016', modality: '0008,0060' } as const;

/** What dcmdump says of the top-level attributes (unindented lines), by tag. */
function dcmdumpTopLevel(file: string): Map<string, string> {
  const out = execFileSync('dcmdump', ['-q', '-Un', '+L', file], { encoding: 'latin1', maxBuffer: 64 * 1024 * 1024 });
  const values = new Map<string, string>();
  for (const line of out.split('\n')) {
    const match = /^\(([0-9a-f]{4},[0-9a-f]{4})\) [A-Z]{2} \[(.*?)\]/.exec(line);
    if (match && !values.has(match[1])) values.set(match[1], match[2].replace(/[\0 ]+$/, ''));
  }
  return values;
}

test('indexed attributes equal what dcmdump reads, for every sample file', async () => {
  const samples = listDebianSamples({ includeMetaMismatch: true });
  assert.ok(samples.length > 100, `found ${samples.length} samples`);
  const syntaxes = new Set<string>();
  for (const sample of samples) {
    const parsed = await readPart10File(sample.path);
    assert.equal(parsed.problem, undefined, `${sample.path}: ${parsed.problem}`);
    const expected = dcmdumpTopLevel(sample.path);
    for (const [field, tag] of Object.entries(TAGS) as Array<[keyof typeof TAGS, string]>) {
      assert.equal(parsed.header[field], expected.get(tag), `${sample.path} ${field}`);
    }
    syntaxes.add(sample.transferSyntaxUid);
  }
  assert.ok(syntaxes.has('1.2.840.10008.1.2.1.99'), 'a deflated sample was read');
  assert.ok(syntaxes.has('1.2.840.10008.1.2.2'), 'a big endian sample was read');
  assert.ok(syntaxes.has('1.2.840.10008.1.2'), 'an implicit VR sample was read');
});

test('the reader gives the same answer when the dataset arrives one byte at a time', async () => {
  const samples = listDebianSamples().filter((s) => ['1.2.840.10008.1.2', '1.2.840.10008.1.2.2', '1.2.840.10008.1.2.1.99', '1.2.840.10008.1.2.4.50'].includes(s.transferSyntaxUid));
  for (const sample of samples.slice(0, 12)) {
    const whole = await readPart10File(sample.path);
    const dataset = fs.readFileSync(sample.path).subarray(whole.datasetOffset);
    const reader = new DatasetHeaderReader(whole.transferSyntaxUid);
    for (let i = 0; i < Math.min(dataset.length, 20000); i++) reader.push(dataset.subarray(i, i + 1));
    reader.push(dataset.subarray(20000));
    const { header, problem } = await reader.finish();
    assert.equal(problem, undefined);
    assert.deepEqual(header, whole.header, sample.path);
  }
});

test('garbage is reported as a problem, never thrown', async () => {
  const reader = new DatasetHeaderReader('1.2.840.10008.1.2.1');
  reader.push(Buffer.from([0x08, 0x00, 0x16, 0x00, 0x7a, 0x7a, 0x10, 0x00]));
  assert.match((await reader.finish()).problem!, /invalid VR/);
  const deflated = new DatasetHeaderReader('1.2.840.10008.1.2.1.99');
  deflated.push(Buffer.from('this is not deflate data at all, not even close'));
  assert.match((await deflated.finish()).problem ?? '', /inflate|invalid/i);
  const huge = new DatasetHeaderReader('1.2.840.10008.1.2');
  const element = Buffer.alloc(8);
  element.writeUInt16LE(0x0008, 0);
  element.writeUInt16LE(0x0018, 2);
  element.writeUInt32LE(100000, 4);
  huge.push(element);
  assert.match((await huge.finish()).problem!, /implausible length/);
});
