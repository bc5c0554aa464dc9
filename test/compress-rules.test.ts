// Compression rules: ordered, first match wins, every condition; lossy only after the explicit opt-in.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ConfigError } from '../agent/config/config';
import { DEFAULT_RULES, matchRule, parseCompression, type InstanceFacts } from '../agent/compress/rules';

const ct: InstanceFacts = {
  modality: 'CT',
  sopClassUid: '1.2.840.10008.5.1.4.1.1.2',
  photometricInterpretation: 'MONOCHROME2',
  bitsAllocated: 16,
  bitsStored: 12,
  frames: 1,
  callingAeTitle: 'CT_SCANNER',
  transferSyntaxUid: '1.2.840.10008.1.2.1',
  receivedCompressed: false,
  sizeBytes: 525000,
};
const usCine: InstanceFacts = {
  ...ct,
  modality: 'US',
  sopClassUid: '1.2.840.10008.5.1.4.1.1.3.1',
  photometricInterpretation: 'RGB',
  bitsAllocated: 8,
  bitsStored: 8,
  frames: 20,
  callingAeTitle: 'US_ROOM2',
  sizeBytes: 18e6,
};
const jpeg: InstanceFacts = { ...ct, transferSyntaxUid: '1.2.840.10008.1.2.4.50', receivedCompressed: true };

test('the default rules keep compressed data as received and compress the rest lossless with JPEG-LS', () => {
  assert.deepEqual(parseCompression(undefined), { enabled: true, workers: 2, lossyOptIn: false, rules: DEFAULT_RULES, lossless: 'when-it-pays' });
  assert.equal(matchRule(DEFAULT_RULES, jpeg)?.action, 'keep');
  assert.deepEqual(matchRule(DEFAULT_RULES, ct), { name: 'uncompressed: lossless JPEG-LS', match: {}, action: 'lossless', codec: 'jpeg-ls' });
});

test('first match wins; every condition must hold', () => {
  const { rules } = parseCompression({
    lossyOptIn: true,
    rules: [
      { name: 'US cine lossy', match: { modality: 'US', frames: { min: 2 }, photometricInterpretation: ['RGB', 'YBR_FULL'], bitsAllocated: 8 }, action: 'lossy', codec: 'jpeg2000', ratio: 15 },
      { name: 'room 2 keeps', match: { callingAeTitle: 'US_ROOM2' }, action: 'keep' },
      { name: 'big CT j2k', match: { sopClassUid: ct.sopClassUid, bitsStored: [12, 16], sizeBytes: { min: 500000 }, transferSyntaxUid: ct.transferSyntaxUid }, action: 'lossless', codec: 'jpeg2000' },
      { name: 'near-lossless', match: { receivedCompressed: false }, action: 'lossy', codec: 'jpeg-ls', maxError: 2 },
    ],
  });
  assert.equal(matchRule(rules, usCine)?.name, 'US cine lossy');
  assert.equal(matchRule(rules, { ...usCine, frames: 1 })?.name, 'room 2 keeps');
  assert.equal(matchRule(rules, ct)?.name, 'big CT j2k');
  assert.equal(matchRule(rules, { ...ct, sizeBytes: 1000 })?.name, 'near-lossless');
  assert.equal(matchRule(rules, jpeg), undefined, 'no match: kept as received');
});

test('lossy rules need compression.lossyOptIn; rules are checked key by key', () => {
  assert.throws(
    () => parseCompression({ rules: [{ match: { modality: 'US' }, action: 'lossy', codec: 'jpeg2000', ratio: 10 }] }),
    (err: Error) => err instanceof ConfigError && /lossyOptIn is false/.test(err.message),
  );
  assert.throws(() => parseCompression({ lossyOptIn: true, rules: [{ action: 'lossy', codec: 'jpeg2000' }] }), /needs ratio .* or quality/);
  assert.throws(() => parseCompression({ lossyOptIn: true, rules: [{ action: 'lossy', codec: 'jpeg-ls' }] }), /maxError must be a whole number/);
  assert.throws(() => parseCompression({ rules: [{ action: 'lossless', ratio: 10 }] }), /ratio does not apply to action lossless/);
  assert.throws(() => parseCompression({ rules: [{ action: 'squash' }] }), /action must be keep, lossless or lossy/);
  assert.throws(() => parseCompression({ rules: [{ action: 'keep', match: { colour: 'RGB' } }] }), /unknown key compression.rules\[0\].match.colour/);
  assert.throws(() => parseCompression({ workers: 0 }), /compression.workers must be a whole number from 1 to 32/);
  assert.throws(() => parseCompression({ lossless: 'never' }), /compression.lossless must be "when-it-pays" or "always" \(got "never"\)/);
  assert.equal(parseCompression({ lossless: 'always' }).lossless, 'always');
});
