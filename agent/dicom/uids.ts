// The UIDs of the protocol that the gateway names (PS3.6 annex A), each written once.

/** The DICOM application context every association proposes (PS3.7 A.2.1). */
export const APPLICATION_CONTEXT = '1.2.840.10008.3.1.1.1';
export const VERIFICATION_SOP_CLASS = '1.2.840.10008.1.1';
/** Storage Commitment Push Model SOP class (PS3.4 J.3). */
export const STORAGE_COMMITMENT_PUSH_MODEL = '1.2.840.10008.1.20.1';
/** The well-known SOP instance every Storage Commitment request and report names (PS3.4 J.3.5). */
export const STORAGE_COMMITMENT_SOP_INSTANCE = '1.2.840.10008.1.20.1.1';

/** The native (uncompressed) transfer syntaxes and the deflated one (PS3.5 A.1-A.5). */
export const TransferSyntax = {
  ImplicitVRLittleEndian: '1.2.840.10008.1.2',
  ExplicitVRLittleEndian: '1.2.840.10008.1.2.1',
  EncapsulatedUncompressedExplicitVRLittleEndian: '1.2.840.10008.1.2.1.98',
  DeflatedExplicitVRLittleEndian: '1.2.840.10008.1.2.1.99',
  ExplicitVRBigEndian: '1.2.840.10008.1.2.2',
  JpipReferencedDeflate: '1.2.840.10008.1.2.4.95',
} as const;
