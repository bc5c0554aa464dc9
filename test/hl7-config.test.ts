// The hl7 configuration keys: defaults, what hl7 takes from upstream, and the errors that name the key.
import assert from 'node:assert/strict';
import path from 'node:path';
import { test } from 'node:test';
import { ConfigError, parseConfig } from '../agent/config/config';
import { hl7Cloud } from '../agent/hl7/hl7-config';

const BASE = { aeTitle: 'HL7GW', dataDir: 'data' };
const parse = (extra: Record<string, unknown>) => parseConfig({ ...BASE, ...extra }, '/etc/gateway');

test('hl7 defaults: MLLP on 2575, limits, long poll; absent means off', () => {
  assert.equal(parse({}).hl7, undefined);
  const hl7 = parse({ hl7: { url: 'https://cloud.example/hl7/' } }).hl7!;
  assert.deepEqual(
    { port: hl7.port, bindAddress: hl7.bindAddress, maxMessageBytes: hl7.maxMessageBytes, idleTimeoutSeconds: hl7.idleTimeoutSeconds, pollSeconds: hl7.pollSeconds, url: hl7.url },
    { port: 2575, bindAddress: undefined, maxMessageBytes: 16 * 1024 * 1024, idleTimeoutSeconds: 300, pollSeconds: 30, url: 'https://cloud.example/hl7' },
  );
  assert.equal(hl7.deliverTo, undefined);
  const to = parse({ hl7: { url: 'https://c/hl7', deliverTo: { host: 'emr.local', port: 6661 } } }).hl7!.deliverTo;
  assert.deepEqual(to, { host: 'emr.local', port: 6661, tls: undefined, ackTimeoutSeconds: 30 });
});

test("unset hl7 keys take upstream's proxy, CA, client certificate and token", () => {
  const config = parse({
    upstream: { kind: 'stow-rs', url: 'https://cloud.example/dicom-web', caFile: 'ca.pem', certFile: 'me.pem', keyFile: 'me.key', token: 'up', proxy: 'http://proxy:3128' },
    hl7: { url: 'https://cloud.example/hl7' },
  });
  assert.deepEqual(hl7Cloud(config.hl7!, config.upstream), {
    url: 'https://cloud.example/hl7',
    token: 'up',
    proxy: 'http://proxy:3128',
    caFile: path.resolve('/etc/gateway', 'ca.pem'),
    certFile: path.resolve('/etc/gateway', 'me.pem'),
    keyFile: path.resolve('/etc/gateway', 'me.key'),
  });
  const own = parse({ upstream: { kind: 'stow-rs', url: 'https://c/d', token: 'up' }, hl7: { url: 'https://c/hl7', token: 'mine' } });
  assert.equal(hl7Cloud(own.hl7!, own.upstream).token, 'mine');
});

test('bad hl7 keys are refused with the key named', () => {
  const cases: Array<[Record<string, unknown>, RegExp]> = [
    [{ port: 2575 }, /hl7.url must be a non-empty string/],
    [{ url: 'http://cloud/hl7' }, /hl7.url must be an https:\/\/ URL/],
    [{ url: 'https://c/h', certFile: 'a.pem' }, /hl7.certFile and hl7.keyFile go together/],
    [{ url: 'https://c/h', allowedSourceAddresses: ['10.0.0.0/33'] }, /hl7.allowedSourceAddresses\[0\] "10.0.0.0\/33" is not an IP address or CIDR block/],
    [{ url: 'https://c/h', bindAddress: 'localhost' }, /hl7.bindAddress must be an IP address/],
    [{ url: 'https://c/h', port: 4104 }, /hl7.port 4104 is the same as a DICOM or API port/],
    [{ url: 'https://c/h', tls: { certFile: 'a', keyFile: 'b', requireClientCertificate: true } }, /hl7.tls.requireClientCertificate needs hl7.tls.caFile/],
    [{ url: 'https://c/h', deliverTo: { host: 'emr' } }, /hl7.deliverTo.port must be a whole number/],
    [{ url: 'https://c/h', listen: true }, /unknown key hl7.listen/],
  ];
  for (const [hl7, message] of cases)
    assert.throws(
      () => parse({ hl7 }),
      (err: unknown) => err instanceof ConfigError && message.test(err.message),
      JSON.stringify(hl7),
    );
});
