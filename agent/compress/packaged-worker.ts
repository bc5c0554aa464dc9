import { isPackaged } from '../assets';
import type { WorkerSource } from './compress-pool';

/**
 * SEA asset keys the package build adds: the worker's own bundle (a single executable has no file to hand to
 * `new Worker`, so the pool starts it from its code) and the codecs' WebAssembly (no node_modules to load it from).
 */
export const WORKER_ASSET = 'compress-worker.js';
export const CHARLS_WASM_ASSET = 'charlswasm.wasm';
export const OPENJPEG_WASM_ASSET = 'openjpegwasm.wasm';

/** How the packaged executable starts compression workers; undefined in development (the pool uses tsx). */
export function packagedWorkerSource(): WorkerSource {
  if (!isPackaged()) return undefined;
  const sea = require('node:sea') as { getAsset(key: string, encoding?: string): string | ArrayBuffer };
  return {
    code: sea.getAsset(WORKER_ASSET, 'utf8') as string,
    workerData: { wasm: { charls: new Uint8Array(sea.getAsset(CHARLS_WASM_ASSET) as ArrayBuffer), openjpeg: new Uint8Array(sea.getAsset(OPENJPEG_WASM_ASSET) as ArrayBuffer) } },
  };
}
