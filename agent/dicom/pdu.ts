// The upper layer PDUs (PS3.8 9.3): each of the seven types encoded and decoded, and the limits we hold peers to.
// Multi-byte fields are big endian. Only the items the gateway uses are read; others are skipped by their length.
import { IMPLEMENTATION_CLASS_UID, IMPLEMENTATION_VERSION_NAME } from '../version';
import type { AssociateReject } from './dicom-error';
import { APPLICATION_CONTEXT } from './uids';

export const PduType = {
  AssociateRequest: 0x01,
  AssociateAccept: 0x02,
  AssociateReject: 0x03,
  PData: 0x04,
  ReleaseRequest: 0x05,
  ReleaseResponse: 0x06,
  Abort: 0x07,
} as const;

/** PDU type and length: the 6 bytes before every PDU's body. */
export const PDU_HEADER_LENGTH = 6;
/** Control PDUs (A-ASSOCIATE-RQ with many contexts or a user identity token) stay far below this. */
export const MAX_CONTROL_PDU_LENGTH = 1 << 20;
/** The maximum PDU length our client announces (what peers may send us: responses and reports are small). */
export const CLIENT_MAX_PDU_LENGTH = 65536;
/**
 * The largest PDU our client reads from a peer, checked from the header before the body is buffered. Above our
 * announced maximum: peers that ignore it still work, within a bound.
 */
export const CLIENT_PDU_LIMIT = 16 * 1024 * 1024;

/** PS3.8 9.3.3.2 presentation context results. */
export const ContextResult = {
  Acceptance: 0,
  UserRejection: 1,
  NoReason: 2,
  AbstractSyntaxNotSupported: 3,
  TransferSyntaxesNotSupported: 4,
} as const;

/** One presentation context to propose: an abstract syntax and the transfer syntaxes offered for it. */
export interface ProposedContext {
  abstractSyntax: string;
  transferSyntaxes: string[];
}

export interface AssociateRequest {
  calledAe: string;
  callingAe: string;
  /** Proposed with ids 1, 3, 5... unless given. */
  contexts: Array<ProposedContext & { id?: number }>;
  maxPduLength: number;
  implementationClassUid?: string;
  implementationVersionName?: string;
}

/** One context of an A-ASSOCIATE-AC: its result and, when accepted, the transfer syntax chosen. */
export interface ContextAnswer {
  id: number;
  result: number;
  transferSyntax?: string;
}

export interface AssociateAccept {
  calledAe: string;
  callingAe: string;
  contexts: ContextAnswer[];
  /** 0: no maximum. */
  maxPduLength: number;
  implementationClassUid?: string;
  implementationVersionName?: string;
}

/** One presentation data value of a P-DATA-TF (PS3.8 9.3.5). */
export interface Pdv {
  contextId: number;
  command: boolean;
  last: boolean;
  value: Buffer;
}

function pdu(type: number, body: Buffer): Buffer {
  const header = Buffer.alloc(PDU_HEADER_LENGTH);
  header[0] = type;
  header.writeUInt32BE(body.length, 2);
  return Buffer.concat([header, body]);
}

function item(type: number, body: Buffer): Buffer {
  const header = Buffer.alloc(4);
  header[0] = type;
  header.writeUInt16BE(body.length, 2);
  return Buffer.concat([header, body]);
}

function textItem(type: number, value: string): Buffer {
  return item(type, Buffer.from(value, 'latin1'));
}

function uint32(value: number): Buffer {
  const out = Buffer.alloc(4);
  out.writeUInt32BE(value);
  return out;
}

const trimmed = (bytes: Buffer, start: number, end: number) => bytes.toString('latin1', start, end).replace(/[\0 ]+$/, '');
const aeField = (title: string) => Buffer.from(title.padEnd(16, ' ').slice(0, 16), 'latin1');

/** Protocol version, reserved, called AE, calling AE, 32 reserved bytes: the fixed part of A-ASSOCIATE-RQ and -AC. */
function fixedFields(calledAe: string, callingAe: string): Buffer {
  return Buffer.concat([Buffer.from([0x00, 0x01, 0x00, 0x00]), aeField(calledAe), aeField(callingAe), Buffer.alloc(32)]);
}

function userInformation(maxPduLength: number, implementationClassUid: string, implementationVersionName?: string): Buffer {
  const items = [item(0x51, uint32(maxPduLength)), textItem(0x52, implementationClassUid)];
  if (implementationVersionName) items.push(textItem(0x55, implementationVersionName));
  return item(0x50, Buffer.concat(items));
}

/** The variable items of an A-ASSOCIATE-RQ or -AC, from offset 74 of the PDU, with the sub-items of each. */
function* variableItems(bytes: Buffer): Generator<{ type: number; start: number; end: number }> {
  for (let pos = 74; pos + 4 <= bytes.length;) {
    const end = Math.min(bytes.length, pos + 4 + bytes.readUInt16BE(pos + 2));
    yield { type: bytes[pos], start: pos + 4, end };
    pos = end;
  }
}

function* subItems(bytes: Buffer, start: number, end: number): Generator<{ type: number; start: number; end: number }> {
  for (let pos = start; pos + 4 <= end;) {
    const subEnd = Math.min(end, pos + 4 + bytes.readUInt16BE(pos + 2));
    yield { type: bytes[pos], start: pos + 4, end: subEnd };
    pos = subEnd;
  }
}

function readUserInformation(bytes: Buffer, start: number, end: number): { maxPduLength: number; implementationClassUid?: string; implementationVersionName?: string } {
  const out: { maxPduLength: number; implementationClassUid?: string; implementationVersionName?: string } = { maxPduLength: 0 };
  for (const sub of subItems(bytes, start, end)) {
    if (sub.type === 0x51 && sub.end - sub.start >= 4) out.maxPduLength = bytes.readUInt32BE(sub.start);
    else if (sub.type === 0x52) out.implementationClassUid = trimmed(bytes, sub.start, sub.end);
    else if (sub.type === 0x55) out.implementationVersionName = trimmed(bytes, sub.start, sub.end);
  }
  return out;
}

/** An A-ASSOCIATE-RQ PDU (PS3.8 9.3.2). */
export function encodeAssociateRequest(request: AssociateRequest): Buffer {
  const contexts = request.contexts.map((context, i) =>
    item(0x20, Buffer.concat([Buffer.from([context.id ?? 1 + 2 * i, 0, 0, 0]), textItem(0x30, context.abstractSyntax), ...context.transferSyntaxes.map((ts) => textItem(0x40, ts))])),
  );
  const userInfo = userInformation(request.maxPduLength, request.implementationClassUid ?? IMPLEMENTATION_CLASS_UID, request.implementationVersionName ?? IMPLEMENTATION_VERSION_NAME);
  return pdu(PduType.AssociateRequest, Buffer.concat([fixedFields(request.calledAe, request.callingAe), textItem(0x10, APPLICATION_CONTEXT), ...contexts, userInfo]));
}

/** Reads an A-ASSOCIATE-RQ PDU (whole PDU, header included). */
export function parseAssociateRequest(bytes: Buffer): Required<Pick<AssociateRequest, 'calledAe' | 'callingAe' | 'maxPduLength'>> & {
  contexts: Array<ProposedContext & { id: number }>;
  implementationClassUid?: string;
  implementationVersionName?: string;
} {
  const out = { calledAe: trimmed(bytes, 10, 26).trimStart(), callingAe: trimmed(bytes, 26, 42).trimStart(), maxPduLength: 0, contexts: [] as Array<ProposedContext & { id: number }> };
  let implementation: { implementationClassUid?: string; implementationVersionName?: string } = {};
  for (const variable of variableItems(bytes)) {
    if (variable.type === 0x20) {
      const context: ProposedContext & { id: number } = { id: bytes[variable.start], abstractSyntax: '', transferSyntaxes: [] };
      for (const sub of subItems(bytes, variable.start + 4, variable.end)) {
        if (sub.type === 0x30) context.abstractSyntax = trimmed(bytes, sub.start, sub.end);
        else if (sub.type === 0x40) context.transferSyntaxes.push(trimmed(bytes, sub.start, sub.end));
      }
      out.contexts.push(context);
    } else if (variable.type === 0x50) {
      const { maxPduLength, ...rest } = readUserInformation(bytes, variable.start, variable.end);
      out.maxPduLength = maxPduLength;
      implementation = rest;
    }
  }
  return { ...out, ...implementation };
}

/** An A-ASSOCIATE-AC PDU (PS3.8 9.3.3); a rejected context names the transfer syntax given, or none. */
export function encodeAssociateAccept(accept: AssociateAccept): Buffer {
  const contexts = accept.contexts.map((context) => item(0x21, Buffer.concat([Buffer.from([context.id, 0, context.result, 0]), textItem(0x40, context.transferSyntax ?? '')])));
  const userInfo = userInformation(accept.maxPduLength, accept.implementationClassUid ?? IMPLEMENTATION_CLASS_UID, accept.implementationVersionName);
  return pdu(PduType.AssociateAccept, Buffer.concat([fixedFields(accept.calledAe, accept.callingAe), textItem(0x10, APPLICATION_CONTEXT), ...contexts, userInfo]));
}

/** Reads an A-ASSOCIATE-AC PDU (whole PDU, header included). */
export function parseAssociateAccept(bytes: Buffer): AssociateAccept {
  const out: AssociateAccept = { calledAe: trimmed(bytes, 10, 26).trimStart(), callingAe: trimmed(bytes, 26, 42).trimStart(), contexts: [], maxPduLength: 0 };
  for (const variable of variableItems(bytes)) {
    if (variable.type === 0x21) {
      const answer: ContextAnswer = { id: bytes[variable.start], result: bytes[variable.start + 2] };
      for (const sub of subItems(bytes, variable.start + 4, variable.end)) {
        if (sub.type === 0x40 && answer.result === ContextResult.Acceptance) answer.transferSyntax = trimmed(bytes, sub.start, sub.end);
      }
      out.contexts.push(answer);
    } else if (variable.type === 0x50) {
      Object.assign(out, readUserInformation(bytes, variable.start, variable.end));
    }
  }
  return out;
}

/** An A-ASSOCIATE-RJ PDU (PS3.8 9.3.4): result 1 permanent / 2 transient, source, reason. */
export function encodeAssociateReject(reject: AssociateReject): Buffer {
  return pdu(PduType.AssociateReject, Buffer.from([0, reject.result, reject.source, reject.reason]));
}

export function parseAssociateReject(bytes: Buffer): AssociateReject {
  return { result: bytes[7], source: bytes[8], reason: bytes[9] };
}

/** The reason of an A-ASSOCIATE-RJ in words (PS3.8 table 9-21). */
export function describeRejectReason(reject: AssociateReject): string {
  const { source, reason } = reject;
  if (source === 1)
    return ['', 'no reason given', 'application context name not supported', 'calling AE title not recognized', '', '', '', 'called AE title not recognized'][reason] || `reason ${reason}`;
  if (source === 2) return ['', 'no reason given', 'protocol version not supported'][reason] || `reason ${reason}`;
  if (source === 3) return ['', 'temporary congestion', 'local limit exceeded'][reason] || `reason ${reason}`;
  return `reason ${reason}`;
}

/** The header of a P-DATA-TF PDU holding one PDV of `valueLength` bytes (PS3.8 9.3.5). */
export function pDataHeader(contextId: number, valueLength: number, command: boolean, last: boolean): Buffer {
  const header = Buffer.alloc(12);
  header[0] = PduType.PData;
  header.writeUInt32BE(6 + valueLength, 2);
  header.writeUInt32BE(2 + valueLength, 6);
  header[10] = contextId;
  header[11] = (command ? 0x01 : 0x00) | (last ? 0x02 : 0x00);
  return header;
}

/** A P-DATA-TF PDU holding one PDV. */
export function pDataPdu(contextId: number, value: Buffer, command: boolean, last: boolean): Buffer {
  return Buffer.concat([pDataHeader(contextId, value.length, command, last), value]);
}

/** A P-DATA-TF PDU holding several PDVs. */
export function encodePData(pdvs: Pdv[]): Buffer {
  return pdu(PduType.PData, Buffer.concat(pdvs.flatMap((pdv) => [pDataHeader(pdv.contextId, pdv.value.length, pdv.command, pdv.last).subarray(PDU_HEADER_LENGTH), pdv.value])));
}

/** The PDVs of a P-DATA-TF PDU (whole PDU, header included): views of its bytes. */
export function parsePData(bytes: Buffer): Pdv[] {
  const values: Pdv[] = [];
  for (let pos = PDU_HEADER_LENGTH; pos + 6 <= bytes.length;) {
    const itemLength = bytes.readUInt32BE(pos);
    const control = bytes[pos + 5];
    values.push({ contextId: bytes[pos + 4], command: (control & 0x01) !== 0, last: (control & 0x02) !== 0, value: bytes.subarray(pos + 6, pos + 4 + itemLength) });
    pos += 4 + itemLength;
  }
  return values;
}

export const A_RELEASE_RQ: Buffer = pdu(PduType.ReleaseRequest, Buffer.alloc(4));
export const A_RELEASE_RP: Buffer = pdu(PduType.ReleaseResponse, Buffer.alloc(4));

/** PS3.8 9.3.8: source 0 service user, 2 service provider; reason (provider only) 0 not specified ... 6 invalid PDU parameter. */
export function encodeAbort(source = 0, reason = 0): Buffer {
  return pdu(PduType.Abort, Buffer.from([0, 0, source, reason]));
}

export function parseAbort(bytes: Buffer): { source: number; reason: number } {
  return { source: bytes[8], reason: bytes[9] };
}
