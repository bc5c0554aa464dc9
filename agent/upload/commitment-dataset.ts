// The datasets of Storage Commitment Push Model (PS3.4 J.3): the N-ACTION request we send and the N-EVENT-REPORT
// the cloud answers with. Always implicit VR little endian: the only transfer syntax we propose for the SOP class.
import crypto from 'node:crypto';
import { readElements, sequenceItems, textValue, usValue, type DatasetElement } from '../spool/dataset-elements';

export interface SopReference {
  sopClassUid: string;
  sopInstanceUid: string;
}

/** What the cloud reported for one transaction: every referenced instance is in one of the lists. */
export interface CommitmentReport {
  transactionUid: string;
  committed: SopReference[];
  failed: Array<SopReference & { reason: number }>;
}

const TRANSACTION_UID = 0x00081195;
const REFERENCED_SOP_SEQUENCE = 0x00081199;
const FAILED_SOP_SEQUENCE = 0x00081198;
const REFERENCED_SOP_CLASS_UID = 0x00081150;
const REFERENCED_SOP_INSTANCE_UID = 0x00081155;
const FAILURE_REASON = 0x00081197;
const ITEM = 0xfffee000;

/** A new UID for a transaction (PS3.5 B.2: 2.25 and a random UUID as a decimal number). */
export function newTransactionUid(): string {
  return `2.25.${BigInt(`0x${crypto.randomUUID().replace(/-/g, '')}`).toString()}`;
}

function element(tag: number, value: Buffer): Buffer {
  const header = Buffer.alloc(8);
  header.writeUInt16LE(tag >>> 16, 0);
  header.writeUInt16LE(tag & 0xffff, 2);
  header.writeUInt32LE(value.length, 4);
  return Buffer.concat([header, value]);
}

function uidValue(uid: string): Buffer {
  return Buffer.from(uid.length % 2 ? `${uid}\0` : uid, 'latin1');
}

/**
 * A Storage Commitment dataset: the N-ACTION-RQ's (PS3.4 J.3.2.1.1: the Transaction UID and the instances to
 * commit) or the N-EVENT-REPORT-RQ's (J.3.3.1: the committed ones, and the failed ones with their reasons).
 * Defined lengths throughout.
 */
export function encodeCommitmentDataset(transactionUid: string, referenced: SopReference[], failed: Array<SopReference & { reason: number }> = []): Buffer {
  const item = (ref: SopReference, reason?: number) => {
    const fields = [element(REFERENCED_SOP_CLASS_UID, uidValue(ref.sopClassUid)), element(REFERENCED_SOP_INSTANCE_UID, uidValue(ref.sopInstanceUid))];
    if (reason !== undefined) {
      const value = Buffer.alloc(2);
      value.writeUInt16LE(reason);
      fields.push(element(FAILURE_REASON, value));
    }
    return element(ITEM, Buffer.concat(fields));
  };
  const out = [element(TRANSACTION_UID, uidValue(transactionUid))];
  if (failed.length > 0) out.push(element(FAILED_SOP_SEQUENCE, Buffer.concat(failed.map((f) => item(f, f.reason)))));
  if (referenced.length > 0 || failed.length === 0) out.push(element(REFERENCED_SOP_SEQUENCE, Buffer.concat(referenced.map((ref) => item(ref)))));
  return Buffer.concat(out);
}

/** Parses the N-EVENT-REPORT-RQ dataset (PS3.4 J.3.3.1); throws on a dataset that is not one. */
export function parseCommitmentReport(dataset: Buffer): CommitmentReport {
  const byTag = (elements: DatasetElement[]) => new Map(elements.map((element) => [element.tag, element]));
  const top = byTag(readElements(dataset, true));
  const transactionUid = textValue(dataset, top.get(TRANSACTION_UID));
  if (!transactionUid) throw new Error('storage commitment report without a Transaction UID');
  const references = (tag: number) => {
    const sequence = top.get(tag);
    return (sequence ? sequenceItems(dataset, sequence, true) : []).map((item) => {
      const fields = byTag(item);
      return {
        sopClassUid: textValue(dataset, fields.get(REFERENCED_SOP_CLASS_UID)) ?? '',
        sopInstanceUid: textValue(dataset, fields.get(REFERENCED_SOP_INSTANCE_UID)) ?? '',
        // A failure without a reason counts as a processing failure (retried).
        reason: usValue(dataset, fields.get(FAILURE_REASON)) ?? 0x0110,
      };
    });
  };
  return {
    transactionUid,
    committed: references(REFERENCED_SOP_SEQUENCE).map(({ sopClassUid, sopInstanceUid }) => ({ sopClassUid, sopInstanceUid })),
    failed: references(FAILED_SOP_SEQUENCE),
  };
}

/** The Failure Reason (PS3.3 C.14.1.1) in words, and whether sending the instance again may help. */
export function describeFailureReason(reason: number): { meaning: string; permanent: boolean } {
  const hex = `0x${reason.toString(16).toUpperCase().padStart(4, '0')}`;
  switch (reason) {
    case 0x0112:
      return { meaning: `${hex} no such object instance (the cloud does not have it)`, permanent: false };
    case 0x0213:
      return { meaning: `${hex} resource limitation on the cloud`, permanent: false };
    case 0x0122:
      return { meaning: `${hex} referenced SOP class not supported by the cloud`, permanent: true };
    case 0x0119:
      return { meaning: `${hex} class / instance conflict`, permanent: true };
    case 0x0131:
      return { meaning: `${hex} duplicate transaction UID`, permanent: false };
    default:
      return { meaning: `${hex} processing failure on the cloud`, permanent: false };
  }
}

/** The same report from dcmjs's naturalized elements (as the gateway's listener receives it through dcmjs-dimse). */
export function commitmentReportFromElements(elements: Record<string, unknown>): CommitmentReport {
  const transactionUid = typeof elements.TransactionUID === 'string' ? elements.TransactionUID : '';
  if (!transactionUid) throw new Error('storage commitment report without a Transaction UID');
  const items = (value: unknown) => (Array.isArray(value) ? (value as Array<Record<string, unknown>>) : []);
  const reference = (item: Record<string, unknown>) => ({ sopClassUid: String(item.ReferencedSOPClassUID ?? ''), sopInstanceUid: String(item.ReferencedSOPInstanceUID ?? '') });
  return {
    transactionUid,
    committed: items(elements.ReferencedSOPSequence).map(reference),
    failed: items(elements.FailedSOPSequence).map((item) => ({ ...reference(item), reason: typeof item.FailureReason === 'number' ? item.FailureReason : 0x0110 })),
  };
}
