// AE titles per PS3.5 6.2: at most 16 characters of the default repertoire (printable ASCII), no backslash,
// no control characters. Leading and trailing spaces are not significant on the wire, so we refuse them in
// configuration (they would only confuse) and trim them from what peers send. Comparison is case-sensitive.

/** The alias every gateway answers to besides its licensed AE title (as the model product does). */
export const ALIAS_AE_TITLE = 'GATEWAY';

/** Returns why `value` is not a usable AE title, or undefined when it is. */
export function aeTitleProblem(value: unknown): string | undefined {
  if (typeof value !== 'string') return 'must be a string';
  if (value.length === 0) return 'must not be empty';
  if (value.length > 16) return `has ${value.length} characters; at most 16 are allowed`;
  for (const char of value) {
    const code = char.charCodeAt(0);
    if (char === '\\') return 'must not contain a backslash';
    if (code < 0x20 || code > 0x7e) return `contains a character outside the DICOM default repertoire (code ${code})`;
  }
  if (value.trim() !== value) return 'must not start or end with a space';
  return undefined;
}

/** An AE title as received in an A-ASSOCIATE-RQ, without its non-significant padding. */
export function normalizeReceivedAeTitle(value: string): string {
  return value.replace(/^ +| +$/g, '');
}

/** True when a peer's called AE title addresses this gateway: the configured title exactly, or the alias. */
export function isCalledAeAccepted(called: string, configured: string): boolean {
  const title = normalizeReceivedAeTitle(called);
  return title === configured || title === ALIAS_AE_TITLE;
}
