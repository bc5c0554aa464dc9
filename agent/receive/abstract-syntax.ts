// Standard storage SOP classes outside the 1.2.840.10008.5.1.4.1.1 branch (PS3.4 B.5).
const OTHER_STANDARD_STORAGE_PREFIXES = [
  '1.2.840.10008.5.1.4.34.', // RT Ion / RT Second Generation, etc.
  '1.2.840.10008.5.1.4.38.', // Hanging Protocol Storage
  '1.2.840.10008.5.1.4.39.', // Color Palette Storage
  '1.2.840.10008.5.1.4.43.', // Generic Implant Template Storage
  '1.2.840.10008.5.1.4.44.', // Implant Assembly Template Storage
  '1.2.840.10008.5.1.4.45.', // Implant Template Group Storage
];

/**
 * True for abstract syntaxes a storage SCP should accept: every standard storage SOP class, and private SOP
 * classes (outside the 1.2.840.10008 root), which vendors use for data a cloud PACS must receive too
 * (for example Siemens CSA non-image). Standard non-storage services (query/retrieve, worklist, MPPS, print,
 * storage commitment requests) are refused: this gateway does not provide them.
 */
export function isStorageAbstractSyntax(uid: string): boolean {
  if (uid.startsWith('1.2.840.10008.5.1.4.1.1.')) return true;
  if (OTHER_STANDARD_STORAGE_PREFIXES.some((prefix) => uid.startsWith(prefix))) return true;
  return !uid.startsWith('1.2.840.10008.');
}
