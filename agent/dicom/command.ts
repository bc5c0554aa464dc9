// DIMSE command sets (PS3.7 E.1): group 0000 in implicit VR little endian, with its group length.

/** Command Field values (PS3.7 E.1-1) of the messages the gateway sends or answers. */
export const CommandField = {
  CStoreRq: 0x0001,
  CStoreRsp: 0x8001,
  CEchoRq: 0x0030,
  CEchoRsp: 0x8030,
  NEventReportRq: 0x0100,
  NEventReportRsp: 0x8100,
  NActionRq: 0x0130,
  NActionRsp: 0x8130,
} as const;

/** Command Data Set Type (0000,0800): a dataset follows (any value but this one), or none. */
export const DataSetType = { Present: 0x0000, Absent: 0x0101 } as const;

/** The command elements, by keyword: what encodeCommandSet takes and parseCommandSet gives back. */
export type CommandElements = {
  AffectedSOPClassUID?: string;
  RequestedSOPClassUID?: string;
  CommandField?: number;
  MessageID?: number;
  MessageIDBeingRespondedTo?: number;
  MoveDestination?: string;
  Priority?: number;
  CommandDataSetType?: number;
  Status?: number;
  ErrorComment?: string;
  ErrorID?: number;
  AffectedSOPInstanceUID?: string;
  RequestedSOPInstanceUID?: string;
  EventTypeID?: number;
  ActionTypeID?: number;
  NumberOfRemainingSuboperations?: number;
  NumberOfCompletedSuboperations?: number;
  NumberOfFailedSuboperations?: number;
  NumberOfWarningSuboperations?: number;
};

// Element numbers (group 0000) and VRs.
const COMMAND_ELEMENTS: Record<keyof CommandElements, [number, 'UI' | 'US' | 'LO' | 'AE']> = {
  AffectedSOPClassUID: [0x0002, 'UI'],
  RequestedSOPClassUID: [0x0003, 'UI'],
  CommandField: [0x0100, 'US'],
  MessageID: [0x0110, 'US'],
  MessageIDBeingRespondedTo: [0x0120, 'US'],
  MoveDestination: [0x0600, 'AE'],
  Priority: [0x0700, 'US'],
  CommandDataSetType: [0x0800, 'US'],
  Status: [0x0900, 'US'],
  ErrorComment: [0x0902, 'LO'],
  ErrorID: [0x0903, 'US'],
  AffectedSOPInstanceUID: [0x1000, 'UI'],
  RequestedSOPInstanceUID: [0x1001, 'UI'],
  EventTypeID: [0x1002, 'US'],
  ActionTypeID: [0x1008, 'US'],
  NumberOfRemainingSuboperations: [0x1020, 'US'],
  NumberOfCompletedSuboperations: [0x1021, 'US'],
  NumberOfFailedSuboperations: [0x1022, 'US'],
  NumberOfWarningSuboperations: [0x1023, 'US'],
};
const BY_ELEMENT = new Map(Object.entries(COMMAND_ELEMENTS).map(([name, [element, vr]]) => [element, { name: name as keyof CommandElements, vr }]));

/**
 * Encodes a command set; undefined for anything unusual (an element it does not know, a value of the wrong type),
 * so that a caller holding a library's command object can fall back to the library's own encoder.
 */
export function encodeCommandSet(elements: Readonly<Record<string, unknown>>): Buffer | undefined {
  const encoded: Array<[number, Buffer]> = [];
  for (const [name, value] of Object.entries(elements)) {
    if (value === undefined || value === null || value === '') continue;
    const known = COMMAND_ELEMENTS[name as keyof CommandElements] as [number, string] | undefined;
    if (!known) return undefined;
    const [element, vr] = known;
    let bytes: Buffer;
    if (vr === 'US') {
      if (typeof value !== 'number') return undefined;
      bytes = Buffer.alloc(2);
      bytes.writeUInt16LE(value);
    } else {
      if (typeof value !== 'string') return undefined;
      bytes = Buffer.from(value.length % 2 ? `${value}${vr === 'UI' ? '\0' : ' '}` : value, 'latin1');
    }
    encoded.push([element, bytes]);
  }
  encoded.sort((a, b) => a[0] - b[0]);
  const bodyLength = encoded.reduce((sum, [, bytes]) => sum + 8 + bytes.length, 0);
  const out = Buffer.allocUnsafe(12 + bodyLength);
  out.writeUInt32LE(0x00000000, 0);
  out.writeUInt32LE(4, 4);
  out.writeUInt32LE(bodyLength, 8);
  let offset = 12;
  for (const [element, bytes] of encoded) {
    out.writeUInt16LE(0x0000, offset);
    out.writeUInt16LE(element, offset + 2);
    out.writeUInt32LE(bytes.length, offset + 4);
    bytes.copy(out, offset + 8);
    offset += 8 + bytes.length;
  }
  return out;
}

/** Encodes a command set of known elements (throws on a value of the wrong type). */
export function encodeCommand(elements: CommandElements): Buffer {
  const encoded = encodeCommandSet(elements);
  if (!encoded) throw new TypeError(`cannot encode command set ${JSON.stringify(elements)}`);
  return encoded;
}

/** Reads the known elements of a command set; unknown elements and the group length are skipped. */
export function parseCommandSet(commandSet: Buffer): CommandElements {
  const out: Record<string, string | number> = {};
  for (let pos = 0; pos + 8 <= commandSet.length;) {
    const group = commandSet.readUInt16LE(pos);
    const known = group === 0x0000 ? BY_ELEMENT.get(commandSet.readUInt16LE(pos + 2)) : undefined;
    const length = commandSet.readUInt32LE(pos + 4);
    const value = commandSet.subarray(pos + 8, pos + 8 + length);
    if (known?.vr === 'US') {
      if (value.length === 2) out[known.name] = value.readUInt16LE(0);
    } else if (known) {
      out[known.name] = value.toString('latin1').replace(/[\0 ]+$/, '');
    }
    pos += 8 + length;
  }
  return out as CommandElements;
}
