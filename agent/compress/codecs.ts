/**
 * The pixel codecs: CharLS (JPEG-LS) and OpenJPEG (JPEG 2000) compiled to WebAssembly (@cornerstonejs). They run
 * inside the compression workers, one instance per worker; WASM keeps them portable to the packaged Windows build.
 */

export interface FrameInfo {
  width: number;
  height: number;
  /** Precision coded in the bit stream (<= bits allocated). */
  bitsPerSample: number;
  componentCount: number;
}

export interface JpegLsOptions {
  /** 0 = lossless; n = near-lossless, every sample within +-n. */
  nearLossless: number;
}

/** Lossless (reversible 5/3 wavelet), or irreversible 9/7 at a target compression ratio (one quality layer). */
export type Jpeg2000Options = { lossless: true } | { lossless: false; ratio: number };

export interface Codecs {
  encodeJpegLs(frame: Buffer, info: FrameInfo, options: JpegLsOptions): Buffer;
  encodeJpeg2000(frame: Buffer, info: FrameInfo, options: Jpeg2000Options): Buffer;
  /** Decoded samples as the encoder took them (colour interleaved by pixel). */
  decode(codec: 'jpeg-ls' | 'jpeg2000', encoded: Buffer): { pixels: Buffer; info: FrameInfo };
}

interface WasmCoder {
  getDecodedBuffer(info?: unknown): Uint8Array;
  getEncodedBuffer(length?: number): Uint8Array;
  getFrameInfo(): FrameInfo;
  encode(): void;
  decode(): void;
  setNearLossless(n: number): void;
  setInterleaveMode(mode: number): void;
  setQuality(lossless: boolean, layers: number): void;
  setCompressionRatio(layer: number, ratio: number): void;
  delete(): void;
}
type WasmModule = Record<string, new () => WasmCoder>;
type WasmFactory = (options: Record<string, unknown>) => Promise<WasmModule>;

const SAMPLE_INTERLEAVED = 2;

/** Loads both codecs; their console output (OpenJPEG reports every header it reads) is silenced. */
export async function loadCodecs(wasm?: { charls: Uint8Array; openjpeg: Uint8Array }): Promise<Codecs> {
  const quiet = { print: () => undefined, printErr: () => undefined };
  const charlsFactory = require('@cornerstonejs/codec-charls/wasmjs') as WasmFactory;
  const openjpegFactory = require('@cornerstonejs/codec-openjpeg/wasmjs') as WasmFactory;
  const [charls, openjpeg] = await Promise.all([
    charlsFactory({ ...quiet, ...(wasm ? { wasmBinary: wasm.charls } : {}) }),
    openjpegFactory({ ...quiet, ...(wasm ? { wasmBinary: wasm.openjpeg } : {}) }),
  ]);

  const run = <T>(coder: WasmCoder, use: (c: WasmCoder) => T): T => {
    try {
      return use(coder);
    } finally {
      coder.delete();
    }
  };

  return {
    encodeJpegLs(frame, info, options) {
      return run(new charls.JpegLSEncoder(), (encoder) => {
        encoder.getDecodedBuffer(info).set(frame);
        encoder.setNearLossless(options.nearLossless);
        if (info.componentCount > 1) encoder.setInterleaveMode(SAMPLE_INTERLEAVED);
        encoder.encode();
        return Buffer.from(encoder.getEncodedBuffer());
      });
    },
    encodeJpeg2000(frame, info, options) {
      return run(new openjpeg.J2KEncoder(), (encoder) => {
        encoder.getDecodedBuffer({ ...info, isSigned: false, isUsingColorSpace: false }).set(frame);
        if (!options.lossless) {
          encoder.setQuality(false, 1);
          encoder.setCompressionRatio(0, options.ratio);
        }
        encoder.encode();
        return Buffer.from(encoder.getEncodedBuffer());
      });
    },
    decode(codec, encoded) {
      const decoder = codec === 'jpeg-ls' ? new charls.JpegLSDecoder() : new openjpeg.J2KDecoder();
      return run(decoder, (d) => {
        d.getEncodedBuffer(encoded.length).set(encoded);
        d.decode();
        const { width, height, bitsPerSample, componentCount } = d.getFrameInfo();
        return { pixels: Buffer.from(d.getDecodedBuffer()), info: { width, height, bitsPerSample, componentCount } };
      });
    },
  };
}
