// HL7 benchmark (a script, not a timed test):
//
//   npx tsx test/bench/hl7.ts [--messages 2000]
//
// Durable messages per second through the gateway's MLLP listener: python3-hl7's mllp_send (the RIS) sends ORM^O01
// messages over one connection, each waiting for its ACK, and every AA means the message is committed in
// PostgreSQL. Reference in the same run: the same sender against an MLLP receiver that ACKs at once and keeps
// nothing (the EMR stand-in of the tests), so the ratio is the cost of durability. Then the time until the cloud
// simulator has every message (HL7 over HTTPS, in order per facility).
import { parseArgs } from 'node:util';
import { freePort } from '../../agent/db/embedded-postgres';
import { startHl7Endpoint } from '../cloud-simulator/hl7-endpoint';
import { makeCloudPki } from '../cloud-simulator/pki';
import { createTestDatabase, ensureTestPostgres } from '../helpers/database';
import { startEmrStandIn } from '../helpers/emr-mllp';
import { startGateway } from '../helpers/gateway-process';
import { mllpSend } from '../helpers/mllp-send';
import { tempDir } from '../helpers/temp-dir';
import { waitFor } from '../helpers/wait';
import { ormO01 } from '../fixtures/hl7-messages';

async function timedSend(port: number, count: number, label: string): Promise<number> {
  const messages = Array.from({ length: count }, (_, i) => ormO01(`${label}-${i}`, `FAC_${i % 4}`));
  // mllp_send's own start (Python) is timed apart and taken off.
  const startup = Date.now();
  await mllpSend(port, [ormO01(`${label}-warm`)]);
  const overhead = Date.now() - startup;
  const started = Date.now();
  const sent = await mllpSend(port, messages);
  const ms = Date.now() - started - overhead;
  if (sent.code !== 0 || sent.acks.length !== count) throw new Error(`${label}: mllp_send ended with ${sent.code}, ${sent.acks.length} ACKs: ${sent.stderr.slice(-500)}`);
  return (count / ms) * 1000;
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { messages: { type: 'string', default: '2000' } } });
  const count = Number(values.messages);
  const stopPostgres = await ensureTestPostgres(tempDir('hl7-bench-pg'));
  const pki = makeCloudPki(tempDir('hl7-bench-pki'));
  const cloud = await startHl7Endpoint({ pki });
  const reference = await startEmrStandIn('ack');
  const hl7Port = await freePort();
  const gateway = await startGateway({
    dataDir: tempDir('hl7-bench-gw'),
    database: await createTestDatabase(),
    config: { hl7: { port: hl7Port, bindAddress: '127.0.0.1', url: cloud.url, caFile: pki.caFile } },
  });
  try {
    const referenceRate = await timedSend(reference.port, count, 'REF');
    const started = Date.now();
    const gatewayRate = await timedSend(hl7Port, count, 'GW');
    await waitFor('every message at the cloud', () => cloud.kept().length >= count + 1, 300_000, 20);
    const toCloud = Date.now() - started;
    console.log(`messages: ${count} ORM^O01 (${ormO01('X').length} bytes each), one connection, one at a time`);
    console.log(`reference (ACK at once, nothing kept): ${referenceRate.toFixed(0)} messages/s`);
    console.log(`gateway (AA after the PostgreSQL commit): ${gatewayRate.toFixed(0)} messages/s (${(gatewayRate / referenceRate).toFixed(2)} of the reference)`);
    console.log(`all at the cloud (HL7 over HTTPS) ${(toCloud / 1000).toFixed(1)} s after the first was sent: ${((count / toCloud) * 1000).toFixed(0)} messages/s end to end`);
  } finally {
    await gateway.stop();
    await reference.stop();
    await cloud.stop();
    await stopPostgres();
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
