// DIMSE statuses (PS3.7 annex C, PS3.4 B.2.3): the values the gateway answers, their classes, and what a C-STORE
// status means for an instance sent to the cloud.

export const Status = {
  Success: 0x0000,
  /** Failure: the SCP could not process the request; the caller may send again. */
  ProcessingFailure: 0x0110,
  NoSuchSopClass: 0x0118,
  /** C-STORE refused: out of resources (disk nearly full, database unavailable). */
  OutOfResources: 0xa700,
  DataSetDoesNotMatchSopClass: 0xa900,
  CannotUnderstand: 0xc000,
} as const;

export type StatusClass = 'success' | 'warning' | 'failure' | 'cancel' | 'pending';

/** The class of a status (PS3.7 C.1-C.4, and the N-service warnings of PS3.7 10.1). */
export function statusClass(status: number): StatusClass {
  if (status === 0x0000) return 'success';
  if (status === 0x0001 || status === 0x0107 || status === 0x0116 || (status & 0xf000) === 0xb000) return 'warning';
  if (status === 0xfe00) return 'cancel';
  if (status === 0xff00 || status === 0xff01) return 'pending';
  return 'failure';
}

/** 0x0000-style, as DICOM conformance statements write statuses. */
export function statusHex(status: number): string {
  return `0x${status.toString(16).toUpperCase().padStart(4, '0')}`;
}

/** A C-STORE-RSP status (PS3.4 B.2.3, PS3.7 C): delivered, or failed transiently / permanently, in words. */
export function classifyStoreStatus(status: number): { delivered: boolean; permanent: boolean; meaning: string } {
  const hex = statusHex(status);
  const ok = (meaning: string) => ({ delivered: true, permanent: false, meaning: `${hex} ${meaning}` });
  const transient = (meaning: string) => ({ delivered: false, permanent: false, meaning: `${hex} ${meaning}` });
  const permanent = (meaning: string) => ({ delivered: false, permanent: true, meaning: `${hex} ${meaning}` });
  if (status === 0x0000) return ok('success');
  if (status === 0xb000) return ok('warning: coercion of data elements');
  if (status === 0xb006) return ok('warning: elements discarded');
  if (status === 0xb007) return ok('warning: data set does not match SOP class');
  if (statusClass(status) === 'warning') return ok('warning');
  if ((status & 0xff00) === 0xa700) return transient('refused: out of resources (the cloud is full or busy)');
  if ((status & 0xff00) === 0xa900) return permanent('error: data set does not match SOP class');
  if ((status & 0xf000) === 0xc000) return permanent('error: cannot understand (the cloud could not parse this instance)');
  switch (status) {
    case 0x0122:
      return permanent('refused: SOP class not supported by the cloud');
    case 0x0111:
      return permanent('duplicate SOP instance (the cloud refuses to replace it)');
    case 0x0117:
      return permanent('invalid SOP instance');
    case 0x0211:
    case 0x0212:
      return permanent('error: the cloud did not accept the request');
    case 0x0110:
      return transient('processing failure on the cloud');
    case 0x0124:
      return transient('refused: not authorized (ask the cloud provider to allow this gateway)');
    case 0x0213:
      return transient('resource limitation on the cloud');
    case 0x0210:
      return transient('duplicate invocation');
    case 0xfe00:
      return transient('cancelled');
    default:
      // An unknown failure is retried (with backoff): never lose an instance to a status we do not know.
      return transient((status & 0xf000) === 0xa000 ? 'refused' : 'failure');
  }
}
