// Transfer syntaxes the receiver accepts, kept as sent: nothing is decoded or re-encoded on the way in.
import { TransferSyntax } from '../dicom/uids';

const COMPRESSED = [
  '1.2.840.10008.1.2.4.50', // JPEG Baseline (Process 1)
  '1.2.840.10008.1.2.4.51', // JPEG Extended (Process 2 & 4)
  '1.2.840.10008.1.2.4.57', // JPEG Lossless, Non-Hierarchical (Process 14)
  '1.2.840.10008.1.2.4.70', // JPEG Lossless, First-Order Prediction (Process 14 SV1)
  '1.2.840.10008.1.2.4.80', // JPEG-LS Lossless
  '1.2.840.10008.1.2.4.81', // JPEG-LS Near-Lossless
  '1.2.840.10008.1.2.4.90', // JPEG 2000 Lossless Only
  '1.2.840.10008.1.2.4.91', // JPEG 2000
  '1.2.840.10008.1.2.4.92', // JPEG 2000 Part 2 Multi-component Lossless Only
  '1.2.840.10008.1.2.4.93', // JPEG 2000 Part 2 Multi-component
  '1.2.840.10008.1.2.4.94', // JPIP Referenced
  TransferSyntax.JpipReferencedDeflate,
  '1.2.840.10008.1.2.4.100', // MPEG2 Main Profile / Main Level
  '1.2.840.10008.1.2.4.100.1', // Fragmentable MPEG2 MP@ML
  '1.2.840.10008.1.2.4.101', // MPEG2 Main Profile / High Level
  '1.2.840.10008.1.2.4.101.1', // Fragmentable MPEG2 MP@HL
  '1.2.840.10008.1.2.4.102', // MPEG-4 AVC/H.264 High Profile / Level 4.1
  '1.2.840.10008.1.2.4.102.1',
  '1.2.840.10008.1.2.4.103', // MPEG-4 AVC/H.264 BD-compatible High Profile / Level 4.1
  '1.2.840.10008.1.2.4.103.1',
  '1.2.840.10008.1.2.4.104', // MPEG-4 AVC/H.264 High Profile / Level 4.2 For 2D Video
  '1.2.840.10008.1.2.4.104.1',
  '1.2.840.10008.1.2.4.105', // MPEG-4 AVC/H.264 High Profile / Level 4.2 For 3D Video
  '1.2.840.10008.1.2.4.105.1',
  '1.2.840.10008.1.2.4.106', // MPEG-4 AVC/H.264 Stereo High Profile / Level 4.2
  '1.2.840.10008.1.2.4.106.1',
  '1.2.840.10008.1.2.4.107', // HEVC/H.265 Main Profile / Level 5.1
  '1.2.840.10008.1.2.4.108', // HEVC/H.265 Main 10 Profile / Level 5.1
  '1.2.840.10008.1.2.4.110', // JPEG XL Lossless
  '1.2.840.10008.1.2.4.111', // JPEG XL JPEG Recompression
  '1.2.840.10008.1.2.4.112', // JPEG XL
  '1.2.840.10008.1.2.4.201', // High-Throughput JPEG 2000 Lossless Only
  '1.2.840.10008.1.2.4.202', // High-Throughput JPEG 2000 with RPCL Options Lossless Only
  '1.2.840.10008.1.2.4.203', // High-Throughput JPEG 2000
  '1.2.840.10008.1.2.5', // RLE Lossless
];

/**
 * Everything a sender may propose that we can keep byte for byte, in order of preference when a sender proposes
 * several for one presentation context: its compressed choice first (keeping it saves bandwidth upstream), then
 * explicit VR little endian, then the rest.
 */
export const ACCEPTED_TRANSFER_SYNTAXES: readonly string[] = [
  ...COMPRESSED,
  TransferSyntax.ExplicitVRLittleEndian,
  TransferSyntax.DeflatedExplicitVRLittleEndian,
  TransferSyntax.EncapsulatedUncompressedExplicitVRLittleEndian,
  TransferSyntax.ImplicitVRLittleEndian,
  TransferSyntax.ExplicitVRBigEndian,
];

export function isImplicitVr(transferSyntaxUid: string): boolean {
  return transferSyntaxUid === TransferSyntax.ImplicitVRLittleEndian;
}

export function isBigEndian(transferSyntaxUid: string): boolean {
  return transferSyntaxUid === TransferSyntax.ExplicitVRBigEndian;
}

export function isDeflated(transferSyntaxUid: string): boolean {
  return transferSyntaxUid === TransferSyntax.DeflatedExplicitVRLittleEndian || transferSyntaxUid === TransferSyntax.JpipReferencedDeflate;
}

const LOSSLESS_COMPRESSED = [
  '1.2.840.10008.1.2.4.80', // JPEG-LS Lossless
  '1.2.840.10008.1.2.4.90', // JPEG 2000 Lossless Only
  '1.2.840.10008.1.2.4.201', // HTJ2K Lossless Only
  '1.2.840.10008.1.2.4.202', // HTJ2K RPCL Lossless Only
  '1.2.840.10008.1.2.4.92', // JPEG 2000 Part 2 Multi-component Lossless Only
  '1.2.840.10008.1.2.4.70', // JPEG Lossless SV1
  '1.2.840.10008.1.2.4.57', // JPEG Lossless
  '1.2.840.10008.1.2.4.110', // JPEG XL Lossless
  '1.2.840.10008.1.2.5', // RLE Lossless
  TransferSyntax.DeflatedExplicitVRLittleEndian,
];
const UNCOMPRESSED = [TransferSyntax.ExplicitVRLittleEndian, TransferSyntax.ImplicitVRLittleEndian, TransferSyntax.ExplicitVRBigEndian, TransferSyntax.EncapsulatedUncompressedExplicitVRLittleEndian];

/**
 * Picks the transfer syntax to accept from those a sender proposes for one presentation context:
 * lossless compressed first (smaller, nothing lost), then uncompressed, and a lossy or video syntax only when the
 * sender offers nothing else (its data already is lossy). Accepting a lossy syntax while the sender also offers an
 * uncompressed one could make a modality compress diagnostic images lossy just for us.
 */
export function chooseTransferSyntax(proposed: readonly string[]): string | undefined {
  const offered = (candidates: readonly string[]) => candidates.find((ts) => proposed.includes(ts));
  return offered(LOSSLESS_COMPRESSED) ?? offered(UNCOMPRESSED) ?? proposed.find((ts) => ACCEPTED_TRANSFER_SYNTAXES.includes(ts));
}
