import fs from 'node:fs';
import path from 'node:path';

/**
 * Files the agent reads at run time (SQL migrations, later the status page, icons, codecs), named by their path
 * relative to the repository root with forward slashes, e.g. 'agent/db/migrations/0001_receive.sql'.
 *
 * In the packaged single executable (Node SEA) they are embedded as SEA assets under that same key, and the
 * build adds one more asset, ASSET_INDEX_KEY, listing every key, so folders can be listed. Elsewhere (tsx in
 * development, tests) they are read from the repository.
 */
export const ASSET_INDEX_KEY = 'assets-index.json';

const REPO_ROOT = path.join(__dirname, '..');

interface SeaModule {
  isSea(): boolean;
  getAsset(key: string, encoding: string): string;
}

let seaModule: SeaModule | null | undefined;
function sea(): SeaModule | null {
  if (seaModule === undefined) {
    try {
      // 'node:sea' exists from Node 20.12; it is a plain built-in, so the bundle keeps this require as it is.
      const candidate = require('node:sea') as SeaModule;
      seaModule = candidate.isSea() ? candidate : null;
    } catch {
      seaModule = null;
    }
  }
  return seaModule;
}

/** True inside the packaged executable. */
export function isPackaged(): boolean {
  return sea() !== null;
}

/** The text of one asset. */
export function readAsset(relativePath: string): string {
  const key = toKey(relativePath);
  const embedded = sea();
  if (embedded) return embedded.getAsset(key, 'utf8');
  return fs.readFileSync(path.join(REPO_ROOT, key), 'utf8');
}

/** The file names (not paths) of the assets directly inside one folder, sorted. */
export function listAssets(relativeDir: string): string[] {
  const prefix = `${toKey(relativeDir).replace(/\/$/, '')}/`;
  const embedded = sea();
  if (embedded) {
    const keys = JSON.parse(embedded.getAsset(ASSET_INDEX_KEY, 'utf8')) as string[];
    return keys
      .filter((k) => k.startsWith(prefix) && !k.slice(prefix.length).includes('/'))
      .map((k) => k.slice(prefix.length))
      .sort();
  }
  return fs
    .readdirSync(path.join(REPO_ROOT, prefix))
    .filter((f) => fs.statSync(path.join(REPO_ROOT, prefix, f)).isFile())
    .sort();
}

function toKey(relativePath: string): string {
  return relativePath.split(path.sep).join('/').replace(/^\.\//, '');
}
