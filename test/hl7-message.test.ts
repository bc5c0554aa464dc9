// MLLP framing and the HL7 v2 header/ACK handling, byte by byte.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { frameMessage, MllpReader } from '../agent/hl7/mllp';
import { buildAck, escape, Hl7Error, ianaCharset, parseAck, parseHeader, repetitions, segments, unescape, DEFAULT_DELIMITERS } from '../agent/hl7/message';
import { adtA08, ormO01 } from './fixtures/hl7-messages';

describe('MLLP framing', () => {
  test('frames split at every byte boundary come out whole, in order', () => {
    const a = ormO01('A1');
    const b = adtA08('B2');
    const stream = Buffer.concat([frameMessage(a), Buffer.from('\r\n'), frameMessage(b)]);
    for (const size of [1, 2, 7, 64, stream.length]) {
      const reader = new MllpReader(1 << 20);
      const events = [];
      for (let at = 0; at < stream.length; at += size) events.push(...reader.push(stream.subarray(at, at + size)));
      assert.deepEqual(events, [
        { kind: 'message', data: a },
        { kind: 'message', data: b },
      ]);
    }
  });

  test('bytes outside a frame, a frame cut by a new start block and an end block without CR are reported, not kept', () => {
    const reader = new MllpReader(1 << 20);
    const events = reader.push(Buffer.concat([Buffer.from('junk'), Buffer.from([0x0b]), Buffer.from('MSH|cut'), frameMessage(Buffer.from('MSH|ok')), Buffer.from([0x0b, 0x41, 0x1c, 0x41])]));
    assert.deepEqual(
      events.map((e) => e.kind),
      ['bad-framing', 'bad-framing', 'message', 'bad-framing'],
    );
    assert.match((events[0] as { reason: string }).reason, /4 bytes outside an MLLP frame/);
    assert.deepEqual((events[2] as { data: Buffer }).data, Buffer.from('MSH|ok'));
  });

  test('a message over the limit is discarded to its end, keeping its beginning for the refusal', () => {
    const reader = new MllpReader(1024);
    const big = Buffer.concat([ormO01('BIG'), Buffer.alloc(10_000, 0x41)]);
    const events = reader.push(frameMessage(big));
    assert.equal(events.length, 1);
    const event = events[0] as { kind: string; prefix: Buffer; bytes: number };
    assert.equal(event.kind, 'too-large');
    assert.equal(event.bytes, big.length);
    assert.equal(parseHeader(event.prefix).controlId, 'BIG');
    assert.equal(reader.push(frameMessage(Buffer.from('MSH|next')))[0].kind, 'message');
  });
});

describe('HL7 v2 header', () => {
  test('MSH fields, message type, version and MSH-18 character set are read', () => {
    const header = parseHeader(adtA08('CTRL-7'));
    assert.equal(header.sendingApplication, 'SYNTH_EMR');
    assert.equal(header.sendingFacility, 'SYNTH_HOSP');
    assert.equal(header.messageType, 'ADT^A08');
    assert.equal(header.controlId, 'CTRL-7');
    assert.equal(header.version, '2.5.1');
    assert.equal(header.characterSet, '8859/1');
    assert.equal(ianaCharset(header.characterSet), 'ISO-8859-1');
    assert.equal(ianaCharset(parseHeader(ormO01('X')).characterSet), 'US-ASCII');
  });

  test('other delimiters, escapes and repetitions', () => {
    const header = parseHeader(Buffer.from('MSH#*!@%#APP#FAC\\F\\#RECV#RFAC#20260101##ORM*O01#ID@F@1#P#2.4\rPID#1\r'));
    assert.deepEqual(header.delimiters, { field: '#', component: '*', repetition: '!', escape: '@', subcomponent: '%' });
    assert.equal(header.controlId, 'ID#1');
    assert.equal(header.messageType, 'ORM^O01');
    const d = DEFAULT_DELIMITERS;
    assert.equal(unescape('Headache \\T\\ dizziness \\F\\ \\S\\ \\R\\ \\E\\ \\X41\\', d), 'Headache & dizziness | ^ ~ \\ A');
    assert.equal(escape('a|b^c~d\\e&f', d), 'a\\F\\b\\S\\c\\R\\d\\E\\e\\T\\f');
    assert.equal(unescape(escape('a|b^c~d\\e&f', d), d), 'a|b^c~d\\e&f');
    assert.deepEqual(repetitions('555-0100~555-0199^WORK', d), [['555-0100'], ['555-0199', 'WORK']]);
    assert.equal(segments(ormO01('S')).length, 5);
  });

  test('what cannot be relayed is an Hl7Error with the table 0357 code, AR for the header', () => {
    const cases: Array<[string, RegExp, string]> = [
      ['PID|1\r', /does not begin with an MSH/, '100'],
      ['MSH|^~\\&|A|B|C|D|20260101||ORM^O01||P|2.3\r', /MSH-10/, '101'],
      ['MSH|^~\\&|A|B|C|D|20260101||ORM^O01|1|P|3.0\r', /version "3.0"/, '203'],
      ['MSH|^~\\&|A|B|C|D|20260101|||1|P|2.3\r', /MSH-9/, '101'],
    ];
    for (const [text, message, code] of cases) {
      assert.throws(
        () => parseHeader(Buffer.from(text)),
        (err: unknown) => err instanceof Hl7Error && message.test(err.message) && err.code === code && err.reject,
      );
    }
  });
});

describe('HL7 v2 ACK', () => {
  test('AA: applications and facilities swapped, MSA-2 the original control ID, the original version, processing ID and charset', () => {
    const header = parseHeader(adtA08('ORIG-1'));
    const ack = buildAck(header, { code: 'AA', controlId: 'GW1', now: new Date(Date.UTC(2026, 11, 4, 10, 0, 0)) }).toString('latin1');
    assert.equal(ack, 'MSH|^~\\&|CLOUD_READ|CLOUD|SYNTH_EMR|SYNTH_HOSP|20261204100000+0000||ACK^A08^ACK|GW1|P|2.5.1||||||8859/1\rMSA|AA|ORIG-1\r');
    const reply = parseAck(Buffer.from(ack, 'latin1'));
    assert.deepEqual(reply, { code: 'AA', acknowledgedControlId: 'ORIG-1', text: '' });
  });

  test('AE/AR carry the reason in MSA-3 and ERR, in the layout of the message version', () => {
    const v25 = buildAck(parseHeader(adtA08('E1')), { code: 'AR', controlId: 'GW2', error: { code: '207', text: 'could not store | try again' } }).toString('latin1');
    assert.match(v25, /\rMSA\|AR\|E1\|could not store \\F\\ try again\rERR\|\|\|207\^could not store \\F\\ try again\^HL70357\|E\|\|\|\|could not store \\F\\ try again\r$/);
    const v23 = buildAck(parseHeader(ormO01('E2')), { code: 'AE', controlId: 'GW3', error: { code: '100', text: 'bad' } }).toString('latin1');
    assert.match(v23, /\rMSA\|AE\|E2\|bad\rERR\|\^\^\^100&bad&HL70357\r$/);
    assert.deepEqual(parseAck(Buffer.from(v23, 'latin1')), { code: 'AE', acknowledgedControlId: 'E2', text: 'bad; 100 bad HL70357' });
    // A message without a readable MSH still gets an answer.
    assert.match(buildAck(undefined, { code: 'AR', controlId: 'GW4', error: { code: '100', text: 'no MSH' } }).toString('latin1'), /^MSH\|\^~\\&\|/);
  });
});
