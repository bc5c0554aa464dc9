import { ConfigError } from '../config/config-error';
import { boolean, integer, object, only, optionalObject, string } from '../config/validate';
import { TransferSyntax } from '../dicom/uids';

/** What a rule can look at; the pixel attributes are absent when the instance has no (native) pixel data. */
export interface InstanceFacts {
  modality?: string;
  sopClassUid: string;
  photometricInterpretation?: string;
  bitsAllocated?: number;
  bitsStored?: number;
  frames?: number;
  callingAeTitle: string;
  transferSyntaxUid: string;
  /** True when the received transfer syntax is compressed (anything but native little/big endian). */
  receivedCompressed: boolean;
  sizeBytes: number;
}

export interface Range {
  min?: number;
  max?: number;
}

/** Every condition given must hold; a list matches when it contains the instance's value. */
export interface RuleMatch {
  modality?: string[];
  sopClassUid?: string[];
  photometricInterpretation?: string[];
  bitsAllocated?: number[];
  bitsStored?: number[];
  frames?: Range;
  callingAeTitle?: string[];
  transferSyntaxUid?: string[];
  receivedCompressed?: boolean;
  sizeBytes?: Range;
}

export type RuleAction =
  | { action: 'keep' }
  | { action: 'lossless'; codec: 'jpeg-ls' | 'jpeg2000' }
  | { action: 'lossy'; codec: 'jpeg2000'; ratio?: number; quality?: number }
  | { action: 'lossy'; codec: 'jpeg-ls'; maxError: number };

export type CompressionRule = { name: string; match: RuleMatch } & RuleAction;

export interface CompressionConfig {
  /** false: nothing is compressed and uploads never wait for a compression decision. */
  enabled: boolean;
  /** Worker threads encoding at once. */
  workers: number;
  /** Lossy rules are refused unless this is true (the administrator accepts lossy images in the cloud). */
  lossyOptIn: boolean;
  /** Ordered; the first rule that matches decides; no match = keep as received. */
  rules: CompressionRule[];
  /**
   * 'when-it-pays': a lossless rule compresses only while that brings instances to the cloud clearly sooner (the
   * link's measured rate against the compressor's); 'always': every lossless rule compresses (cloud storage billed
   * by size, a metered link).
   */
  lossless: 'when-it-pays' | 'always';
}

/** Already-compressed data is kept as received (never decompressed and recompressed); the rest goes lossless JPEG-LS. */
export const DEFAULT_RULES: CompressionRule[] = [
  { name: 'already compressed: keep as received', match: { receivedCompressed: true }, action: 'keep' },
  { name: 'uncompressed: lossless JPEG-LS', match: {}, action: 'lossless', codec: 'jpeg-ls' },
];

const UNCOMPRESSED: readonly string[] = [TransferSyntax.ImplicitVRLittleEndian, TransferSyntax.ExplicitVRLittleEndian, TransferSyntax.ExplicitVRBigEndian];

export function isCompressedTransferSyntax(uid: string): boolean {
  return !UNCOMPRESSED.includes(uid);
}

/** The first rule whose conditions all hold, or undefined (keep as received). */
export function matchRule(rules: readonly CompressionRule[], facts: InstanceFacts): CompressionRule | undefined {
  return rules.find((rule) => ruleMatches(rule.match, facts));
}

/** The pixel attributes, which only the dataset tells (a worker reads them). */
const PIXEL_CONDITIONS = ['photometricInterpretation', 'bitsAllocated', 'bitsStored', 'frames'] as const;

/**
 * The rule that decides, from what the database knows (no pixel attributes), or 'needs pixels' when a rule that may
 * match depends on them; undefined when none matches.
 */
export function matchRuleBeforePixels(rules: readonly CompressionRule[], facts: InstanceFacts): CompressionRule | 'needs pixels' | undefined {
  for (const rule of rules) {
    const pixelConditions = PIXEL_CONDITIONS.filter((k) => rule.match[k] !== undefined);
    const rest: RuleMatch = { ...rule.match };
    for (const k of pixelConditions) delete rest[k];
    if (!ruleMatches(rest, facts)) continue;
    return pixelConditions.length > 0 ? 'needs pixels' : rule;
  }
  return undefined;
}

function ruleMatches(m: RuleMatch, f: InstanceFacts): boolean {
  const inList = <T>(list: T[] | undefined, value: T | undefined) => list === undefined || (value !== undefined && list.includes(value));
  const inRange = (range: Range | undefined, value: number | undefined) =>
    range === undefined || (value !== undefined && (range.min === undefined || value >= range.min) && (range.max === undefined || value <= range.max));
  return (
    inList(m.modality, f.modality) &&
    inList(m.sopClassUid, f.sopClassUid) &&
    inList(m.photometricInterpretation, f.photometricInterpretation) &&
    inList(m.bitsAllocated, f.bitsAllocated) &&
    inList(m.bitsStored, f.bitsStored) &&
    inRange(m.frames, f.frames ?? 1) &&
    inList(m.callingAeTitle, f.callingAeTitle) &&
    inList(m.transferSyntaxUid, f.transferSyntaxUid) &&
    (m.receivedCompressed === undefined || m.receivedCompressed === f.receivedCompressed) &&
    inRange(m.sizeBytes, f.sizeBytes)
  );
}

/** Validates the `compression` key of the configuration. */
export function parseCompression(value: unknown): CompressionConfig {
  const raw = optionalObject(value, 'compression');
  only(raw, 'compression.', ['enabled', 'workers', 'lossyOptIn', 'rules', 'lossless']);
  const lossless = raw.lossless ?? 'when-it-pays';
  if (lossless !== 'when-it-pays' && lossless !== 'always') throw new ConfigError(`compression.lossless must be "when-it-pays" or "always" (got ${JSON.stringify(lossless)})`);
  const lossyOptIn = boolean(raw.lossyOptIn ?? false, 'compression.lossyOptIn');
  if (raw.rules !== undefined && !Array.isArray(raw.rules)) throw new ConfigError('compression.rules must be a list');
  const rules = raw.rules === undefined ? DEFAULT_RULES : (raw.rules as unknown[]).map((entry, i) => parseRule(entry, `compression.rules[${i}]`, lossyOptIn));
  return {
    enabled: boolean(raw.enabled ?? true, 'compression.enabled'),
    workers: integer(raw.workers ?? 2, 'compression.workers', 1, 32),
    lossyOptIn,
    rules,
    lossless,
  };
}

function parseRule(value: unknown, key: string, lossyOptIn: boolean): CompressionRule {
  const raw = object(value, key);
  only(raw, `${key}.`, ['name', 'match', 'action', 'codec', 'ratio', 'quality', 'maxError']);
  const name = raw.name === undefined ? key : string(raw.name, `${key}.name`);
  const match = parseMatch(raw.match, `${key}.match`);
  const codec = raw.codec ?? 'jpeg-ls';
  if (codec !== 'jpeg-ls' && codec !== 'jpeg2000') throw new ConfigError(`${key}.codec must be jpeg-ls or jpeg2000`);
  const allowed = (keys: string[]) => {
    for (const k of ['codec', 'ratio', 'quality', 'maxError']) {
      if (raw[k] !== undefined && !keys.includes(k)) throw new ConfigError(`${key}.${k} does not apply to action ${String(raw.action)}`);
    }
  };
  switch (raw.action) {
    case 'keep':
      allowed([]);
      return { name, match, action: 'keep' };
    case 'lossless':
      allowed(['codec']);
      return { name, match, action: 'lossless', codec };
    case 'lossy': {
      if (!lossyOptIn) {
        throw new ConfigError(
          `${key} is lossy, but compression.lossyOptIn is false: lossy images lose detail for good; set compression.lossyOptIn to true only once the practice has accepted lossy images for these studies`,
        );
      }
      if (codec === 'jpeg-ls') {
        allowed(['codec', 'maxError']);
        return { name, match, action: 'lossy', codec, maxError: integer(raw.maxError, `${key}.maxError`, 1, 255) };
      }
      allowed(['codec', 'ratio', 'quality']);
      if ((raw.ratio === undefined) === (raw.quality === undefined)) throw new ConfigError(`${key}: a lossy jpeg2000 rule needs ratio (e.g. 10 for 10:1) or quality (PSNR in dB, e.g. 45), not both`);
      const positive = (v: unknown, k: string) => {
        if (typeof v !== 'number' || !(v > 1) || v > 1000) throw new ConfigError(`${key}.${k} must be a number above 1 (got ${JSON.stringify(v)})`);
        return v;
      };
      return raw.ratio !== undefined
        ? { name, match, action: 'lossy', codec, ratio: positive(raw.ratio, 'ratio') }
        : { name, match, action: 'lossy', codec, quality: positive(raw.quality, 'quality') };
    }
    default:
      throw new ConfigError(`${key}.action must be keep, lossless or lossy (got ${JSON.stringify(raw.action)})`);
  }
}

function parseMatch(value: unknown, key: string): RuleMatch {
  const raw = optionalObject(value, key);
  only(raw, `${key}.`, ['modality', 'sopClassUid', 'photometricInterpretation', 'bitsAllocated', 'bitsStored', 'frames', 'callingAeTitle', 'transferSyntaxUid', 'receivedCompressed', 'sizeBytes']);
  const strings = (k: string) => {
    const v = raw[k];
    if (v === undefined) return undefined;
    const list = typeof v === 'string' ? [v] : v;
    if (!Array.isArray(list) || list.some((x) => typeof x !== 'string')) throw new ConfigError(`${key}.${k} must be a string or a list of strings`);
    return list as string[];
  };
  const numbers = (k: string) => {
    const v = raw[k];
    if (v === undefined) return undefined;
    const list = typeof v === 'number' ? [v] : v;
    if (!Array.isArray(list)) throw new ConfigError(`${key}.${k} must be a number or a list of numbers`);
    return list.map((x, i) => integer(x, `${key}.${k}[${i}]`, 1, 64));
  };
  const range = (k: string) => {
    if (raw[k] === undefined) return undefined;
    const r = object(raw[k], `${key}.${k}`);
    only(r, `${key}.${k}.`, ['min', 'max']);
    return {
      min: r.min === undefined ? undefined : integer(r.min, `${key}.${k}.min`, 0, Number.MAX_SAFE_INTEGER),
      max: r.max === undefined ? undefined : integer(r.max, `${key}.${k}.max`, 0, Number.MAX_SAFE_INTEGER),
    };
  };
  return {
    modality: strings('modality'),
    sopClassUid: strings('sopClassUid'),
    photometricInterpretation: strings('photometricInterpretation'),
    bitsAllocated: numbers('bitsAllocated'),
    bitsStored: numbers('bitsStored'),
    frames: range('frames'),
    callingAeTitle: strings('callingAeTitle'),
    transferSyntaxUid: strings('transferSyntaxUid'),
    receivedCompressed: raw.receivedCompressed === undefined ? undefined : boolean(raw.receivedCompressed, `${key}.receivedCompressed`),
    sizeBytes: range('sizeBytes'),
  };
}
