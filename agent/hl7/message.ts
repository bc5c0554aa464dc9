/**
 * The little of HL7 v2 (ER7 encoding) the gateway needs: the message header (MSH) with its delimiters, escape
 * sequences and repetitions, and the acknowledgement (ACK) a receiver returns. The message itself is never rebuilt:
 * it is kept and forwarded as the bytes that arrived. Header fields are read as latin1, so that every byte maps to
 * one character and the ACK can copy them back unchanged whatever the sender's character set.
 */

export interface Delimiters {
  field: string;
  component: string;
  repetition: string;
  escape: string;
  subcomponent: string;
}

export const DEFAULT_DELIMITERS: Delimiters = { field: '|', component: '^', repetition: '~', escape: '\\', subcomponent: '&' };

/** HL7 table 0357 (message error condition codes) used here. */
export const ErrorCode = {
  segmentSequence: '100',
  requiredFieldMissing: '101',
  unsupportedMessageType: '200',
  unsupportedVersion: '203',
  internalError: '207',
} as const;

/** A message the gateway cannot take: `reject` (AR) for the header/transport, else an application error (AE). */
export class Hl7Error extends Error {
  constructor(
    message: string,
    readonly code: string,
    readonly reject: boolean,
    /** The header as far as it could be read (for the refusal's ACK). */
    readonly header?: MessageHeader,
  ) {
    super(message);
  }
}

export interface MessageHeader {
  delimiters: Delimiters;
  /** MSH fields by number as raw (escaped) text: fields[3] is MSH-3; fields[1] and [2] are the delimiters. */
  fields: string[];
  sendingApplication: string;
  sendingFacility: string;
  /** MSH-9 as code^trigger (e.g. ORM^O01). */
  messageType: string;
  triggerEvent: string;
  controlId: string;
  processingId: string;
  version: string;
  /** MSH-18, first repetition, e.g. UNICODE UTF-8 or 8859/1; undefined = the default (ASCII). */
  characterSet?: string;
}

/** Versions this gateway relays (the MSH and ACK layout is the same across them). */
const SUPPORTED_VERSION = /^2\.[1-9](\.\d+)?$/;

/** Splits a message into its segments; CR is the terminator, LF and CR LF are tolerated. */
export function segments(message: Buffer | string): string[] {
  const text = typeof message === 'string' ? message : message.toString('latin1');
  return text.split(/\r\n|\r|\n/).filter((s) => s.length > 0);
}

/** Reads the MSH of a message; throws Hl7Error (with the code and AR/AE) when it cannot be relayed. */
export function parseHeader(message: Buffer): MessageHeader {
  const first = segments(message)[0] ?? '';
  if (!first.startsWith('MSH') || first.length < 8) throw new Hl7Error('the message does not begin with an MSH segment', ErrorCode.segmentSequence, true);
  const field = first[3];
  const encoding = first.slice(4).split(field, 1)[0];
  if (encoding.length < 3 || /[A-Za-z0-9]/.test(field + encoding) || new Set(field + encoding).size !== 1 + encoding.length) {
    throw new Hl7Error(`MSH-2 does not hold valid encoding characters`, ErrorCode.requiredFieldMissing, true);
  }
  const delimiters: Delimiters = { field, component: encoding[0], repetition: encoding[1], escape: encoding[2], subcomponent: encoding[3] ?? '&' };
  // MSH-1 is the field separator itself: shift so that fields[n] is MSH-n.
  const fields = ['MSH', field, ...first.slice(4).split(field)];
  const get = (n: number) => fields[n] ?? '';
  const component = (value: string, n: number) => value.split(delimiters.repetition)[0].split(delimiters.component)[n - 1] ?? '';
  const typeField = get(9);
  const code = component(typeField, 1);
  const trigger = component(typeField, 2);
  const controlId = unescape(get(10), delimiters);
  const version = component(get(12), 1);
  const header: MessageHeader = {
    delimiters,
    fields,
    sendingApplication: unescape(component(get(3), 1), delimiters),
    sendingFacility: unescape(component(get(4), 1), delimiters),
    messageType: trigger ? `${code}^${trigger}` : code,
    triggerEvent: trigger,
    controlId,
    processingId: component(get(11), 1),
    version,
    characterSet: get(18).split(delimiters.repetition)[0] || undefined,
  };
  if (!code) throw new Hl7Error('MSH-9 (message type) is empty', ErrorCode.requiredFieldMissing, true, header);
  if (!controlId) throw new Hl7Error('MSH-10 (message control ID) is empty', ErrorCode.requiredFieldMissing, true, header);
  if (!SUPPORTED_VERSION.test(version)) throw new Hl7Error(`MSH-12 version ${JSON.stringify(version)} is not an HL7 v2 version`, ErrorCode.unsupportedVersion, true, header);
  return header;
}

/** The field/component/repetition values of a field with the escape sequences resolved (\F\ \S\ \T\ \R\ \E\ \Xhh\). */
export function unescape(value: string, d: Delimiters): string {
  if (!value.includes(d.escape)) return value;
  const e = d.escape.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  return value.replace(new RegExp(`${e}([^${e}]*)${e}`, 'g'), (whole, sequence: string) => {
    switch (sequence[0]) {
      case 'F':
        return d.field;
      case 'S':
        return d.component;
      case 'T':
        return d.subcomponent;
      case 'R':
        return d.repetition;
      case 'E':
        return d.escape;
      case 'X':
        return /^X([0-9A-Fa-f]{2})+$/.test(sequence) ? Buffer.from(sequence.slice(1), 'hex').toString('latin1') : whole;
      case '.':
      case 'H':
      case 'N':
        // Formatting commands (.br, highlight) are text markup: kept as they are.
        return whole;
      default:
        return whole;
    }
  });
}

/** Text made safe to put in a field: delimiters replaced by their escape sequences, line ends by spaces. */
export function escape(value: string, d: Delimiters): string {
  let out = '';
  for (const c of value.replace(/[\r\n]+/g, ' ')) {
    if (c === d.escape) out += `${d.escape}E${d.escape}`;
    else if (c === d.field) out += `${d.escape}F${d.escape}`;
    else if (c === d.component) out += `${d.escape}S${d.escape}`;
    else if (c === d.subcomponent) out += `${d.escape}T${d.escape}`;
    else if (c === d.repetition) out += `${d.escape}R${d.escape}`;
    else out += c;
  }
  return out;
}

/** The repetitions of a field, each split into components (escapes resolved). */
export function repetitions(value: string, d: Delimiters): string[][] {
  if (value === '') return [];
  return value.split(d.repetition).map((rep) => rep.split(d.component).map((c) => unescape(c, d)));
}

export type AckCode = 'AA' | 'AE' | 'AR';

export interface AckOptions {
  code: AckCode;
  /** The reason of an AE/AR, put in MSA-3 and ERR. */
  error?: { text: string; code: string };
  /** MSH-10 of the ACK itself. */
  controlId: string;
  now?: Date;
}

/**
 * The acknowledgement of a message (original acknowledgement mode): MSH with sending and receiving application and
 * facility swapped (ACK MSH-3/4 = message MSH-5/6 and the reverse), the message's delimiters, processing ID, version
 * and character set; MSA-1 the code, MSA-2 the message's control ID; with an error, ERR as the version defines it
 * (ERR-3/ERR-4 from v2.5 on, ERR-1 before). `header` is undefined when the message had no readable MSH.
 */
export function buildAck(header: MessageHeader | undefined, options: AckOptions): Buffer {
  const d = header?.delimiters ?? DEFAULT_DELIMITERS;
  const f = (n: number) => header?.fields[n] ?? '';
  const encoding = header ? header.fields[2] : `${d.component}${d.repetition}${d.escape}${d.subcomponent}`;
  const version = header?.version || '2.5';
  const trigger = header?.triggerEvent ?? '';
  const type = trigger ? ['ACK', trigger, 'ACK'].join(d.component) : 'ACK';
  const msh = ['MSH', encoding, f(5), f(6), f(3), f(4), hl7Timestamp(options.now ?? new Date()), '', type, escape(options.controlId, d), f(11) || 'P', f(12) || version];
  if (f(18)) msh.push('', '', '', '', '', f(18));
  const lines = [msh.join(d.field)];
  const reason = options.error ? escape(options.error.text, d).slice(0, 200) : '';
  lines.push(['MSA', options.code, f(10), reason].join(d.field).replace(new RegExp(`\\${d.field}+$`), ''));
  if (options.error) {
    const newStyle = versionAtLeast(version, 2, 5);
    const err = newStyle
      ? ['ERR', '', '', [options.error.code, reason, 'HL70357'].join(d.component), 'E', '', '', '', reason]
      : ['ERR', ['', '', '', [options.error.code, reason, 'HL70357'].join(d.subcomponent)].join(d.component)];
    lines.push(err.join(d.field));
  }
  return Buffer.from(`${lines.join('\r')}\r`, 'latin1');
}

export interface AckReply {
  code: string;
  /** MSA-2: the control ID of the message acknowledged. */
  acknowledgedControlId: string;
  /** MSA-3 and ERR, unescaped, for the record of a refusal. */
  text: string;
}

/** Reads an ACK (MSA-1, MSA-2, MSA-3, ERR); throws Hl7Error when it is not one. */
export function parseAck(message: Buffer): AckReply {
  let header: MessageHeader;
  try {
    header = parseHeader(message);
  } catch (err) {
    // The ACK of a message refused for its version carries that version: its MSA still says what happened.
    if (!(err instanceof Hl7Error) || !err.header) throw err;
    header = err.header;
  }
  const d = header.delimiters;
  const all = segments(message);
  const msa = all.find((s) => s.startsWith(`MSA${d.field}`));
  if (!msa) throw new Hl7Error('the answer has no MSA segment', ErrorCode.segmentSequence, false);
  const msaFields = msa.split(d.field);
  const errors = all
    .filter((s) => s.startsWith(`ERR${d.field}`))
    .map((s) =>
      s
        .split(d.field)
        .slice(1)
        .filter(Boolean)
        .map((v) => unescape(v.split(d.component).join(' ').split(d.subcomponent).join(' '), d).trim())
        .join(' '),
    );
  const text = [unescape(msaFields[3] ?? '', d), ...errors].filter(Boolean).join('; ');
  return { code: msaFields[1] ?? '', acknowledgedControlId: unescape(msaFields[2] ?? '', d), text };
}

function versionAtLeast(version: string, major: number, minor: number): boolean {
  const [a, b] = version.split('.').map(Number);
  return a > major || (a === major && (b ?? 0) >= minor);
}

function hl7Timestamp(date: Date): string {
  const two = (n: number) => String(n).padStart(2, '0');
  return `${date.getUTCFullYear()}${two(date.getUTCMonth() + 1)}${two(date.getUTCDate())}${two(date.getUTCHours())}${two(date.getUTCMinutes())}${two(date.getUTCSeconds())}+0000`;
}

/** The IANA name of an MSH-18 character set, for the HTTP charset parameter. */
export function ianaCharset(characterSet: string | undefined): string {
  const value = (characterSet ?? '').toUpperCase().trim();
  const table: Record<string, string> = {
    '': 'US-ASCII',
    ASCII: 'US-ASCII',
    '8859/1': 'ISO-8859-1',
    '8859/2': 'ISO-8859-2',
    '8859/3': 'ISO-8859-3',
    '8859/4': 'ISO-8859-4',
    '8859/5': 'ISO-8859-5',
    '8859/6': 'ISO-8859-6',
    '8859/7': 'ISO-8859-7',
    '8859/8': 'ISO-8859-8',
    '8859/9': 'ISO-8859-9',
    '8859/15': 'ISO-8859-15',
    'UNICODE UTF-8': 'UTF-8',
    'UNICODE UTF-16': 'UTF-16',
    'UNICODE UTF-32': 'UTF-32',
    UNICODE: 'UTF-8',
    'ISO IR87': 'ISO-2022-JP',
    'ISO IR159': 'ISO-2022-JP',
    'ISO IR6': 'US-ASCII',
    'ISO IR100': 'ISO-8859-1',
    GB_18030_2000: 'GB18030',
    'KS X 1001': 'EUC-KR',
    'CNS 11643-1992': 'EUC-TW',
    BIG_5: 'Big5',
    'BIG-5': 'Big5',
  };
  return table[value] ?? value;
}
