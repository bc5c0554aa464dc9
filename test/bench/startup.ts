// Startup benchmark of the packaged executables (a script, not a timed test):
//
//   npx tsx test/bench/startup.ts [--runs 5]
//
// Builds dist/ when it is older than its sources (npm run package), prints the sizes of the executables and
// packages, then the time from starting the Linux executable (copied alone into a temporary folder) to the first
// accepted association (A-ASSOCIATE-AC to a raw A-ASSOCIATE-RQ for Verification, polled every 10 ms):
//   - with its embedded PostgreSQL, on a data folder that already exists (the first start's initdb is shown
//     apart and not counted), median of the runs;
//   - with an external PostgreSQL, and gateway.exe under Wine with that same server, when TEST_DATABASE_URL is
//     set (npx tsx test/run-suite.ts does not run this script, so set it yourself to include them).
// Target: under 2 s on Linux from start to the first accepted association.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { freePort } from '../../agent/db/embedded-postgres';
import { createTestDatabase } from '../helpers/database';
import { copyLinuxPackage, DIST, ensurePackage, LINUX_PACKAGE, prepareWine, runPackaged, WINDOWS_EXE, WINDOWS_PACKAGE, winePath } from '../helpers/packaged';
import { connectRaw, verificationRequest } from '../helpers/raw-association';

const AE_TITLE = 'BENCH_GW';

function folderBytes(dir: string): number {
  let total = 0;
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const file = path.join(dir, entry.name);
    if (entry.isDirectory()) total += folderBytes(file);
    else if (entry.isFile()) total += fs.statSync(file).size;
  }
  return total;
}

const mib = (bytes: number) => `${(bytes / 1048576).toFixed(1)} MiB`;

/** True once the gateway answers an A-ASSOCIATE-RQ with an A-ASSOCIATE-AC. */
async function associationAccepted(port: number): Promise<boolean> {
  try {
    const connection = await connectRaw(port);
    try {
      connection.socket.write(verificationRequest(AE_TITLE, 'BENCH'));
      return (await connection.firstPdu(5000)).type === 0x02;
    } finally {
      connection.socket.destroy();
    }
  } catch {
    return false;
  }
}

/** Starts the executable and measures the milliseconds to the first accepted association; stops it again. */
async function timeToFirstAssociation(executable: string, configArg: string, port: number, logFile: string, wine = false): Promise<number> {
  const started = process.hrtime.bigint();
  const agent = runPackaged(executable, ['run', '--config', configArg], logFile, { wine });
  try {
    for (;;) {
      if (agent.child.exitCode !== null) throw new Error(`the agent exited (code ${agent.child.exitCode}):\n${agent.output().slice(-3000)}`);
      if (await associationAccepted(port)) return Number(process.hrtime.bigint() - started) / 1e6;
      if (Number(process.hrtime.bigint() - started) / 1e6 > 120000) throw new Error(`no association accepted within 120 s:\n${agent.output().slice(-3000)}`);
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  } finally {
    await agent.stop(wine ? 'SIGKILL' : 'SIGTERM');
  }
}

function writeConfig(file: string, port: number, dataDir: string, databaseUrl?: string): void {
  fs.writeFileSync(file, JSON.stringify({ aeTitle: AE_TITLE, port, bindAddress: '127.0.0.1', dataDir, database: databaseUrl ? { url: databaseUrl } : {}, limits: { minFreeDiskMb: 64 } }, null, 2));
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
const figures = (values: number[]) => `median ${median(values).toFixed(0)} ms (runs: ${values.map((v) => v.toFixed(0)).join(', ')} ms)`;

async function series(label: string, runs: number, once: () => Promise<number>): Promise<number[]> {
  const times: number[] = [];
  for (let i = 0; i < runs; i++) times.push(await once());
  console.log(`${label}: ${figures(times)}`);
  return times;
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { runs: { type: 'string', default: '5' } } });
  const runs = Number(values.runs);
  const build = ensurePackage();
  console.log(build.built ? `built dist/ (npm run package) in ${build.seconds.toFixed(1)} s` : 'dist/ is up to date');

  const zip = fs.readdirSync(DIST).find((f) => /^dicom-gateway-win-x64-.+\.zip$/.test(f));
  console.log('\nsizes');
  console.log(`  linux-x64/gateway               ${mib(fs.statSync(path.join(LINUX_PACKAGE, 'gateway')).size)}`);
  console.log(`  linux-x64/postgres/             ${mib(folderBytes(path.join(LINUX_PACKAGE, 'postgres')))}`);
  console.log(`  win-x64/gateway/gateway.exe     ${mib(fs.statSync(WINDOWS_EXE).size)}`);
  console.log(`  win-x64/gateway/postgres/       ${mib(folderBytes(path.join(WINDOWS_PACKAGE, 'gateway', 'postgres')))}`);
  console.log(`  win-x64/ (whole package)        ${mib(folderBytes(WINDOWS_PACKAGE))}`);
  if (zip) console.log(`  ${zip.padEnd(31)} ${mib(fs.statSync(path.join(DIST, zip)).size)}`);
  console.log(`  bundle (dist/build/gateway.js)  ${mib(fs.statSync(path.join(DIST, 'build', 'gateway.js')).size)}`);

  const folder = fs.mkdtempSync(path.join(os.tmpdir(), 'gw-bench-startup-'));
  // The embedded PostgreSQL runs as 'postgres' when this runs as root: it must be able to enter the folder.
  fs.chmodSync(folder, 0o755);
  try {
    const executable = copyLinuxPackage(folder);
    const port = await freePort();
    console.log(`\ntime from start to the first accepted association (${runs} runs)`);

    const embeddedConfig = path.join(folder, 'embedded.json');
    writeConfig(embeddedConfig, port, path.join(folder, 'embedded-data'));
    const first = await timeToFirstAssociation(executable, embeddedConfig, port, path.join(folder, 'first.log'));
    console.log(`linux, embedded PostgreSQL, first start (initdb, not counted): ${first.toFixed(0)} ms`);
    const embedded = await series('linux, embedded PostgreSQL, existing data folder', runs, () => timeToFirstAssociation(executable, embeddedConfig, port, path.join(folder, 'embedded.log')));

    if (process.env.TEST_DATABASE_URL) {
      const externalConfig = path.join(folder, 'external.json');
      writeConfig(externalConfig, port, path.join(folder, 'external-data'), await createTestDatabase());
      await timeToFirstAssociation(executable, externalConfig, port, path.join(folder, 'external-first.log'));
      await series('linux, external PostgreSQL, migrated database', runs, () => timeToFirstAssociation(executable, externalConfig, port, path.join(folder, 'external.log')));

      prepareWine();
      const wineConfig = path.join(folder, 'wine.json');
      writeConfig(wineConfig, port, winePath(path.join(folder, 'wine-data')), await createTestDatabase());
      await timeToFirstAssociation(WINDOWS_EXE, winePath(wineConfig), port, path.join(folder, 'wine-first.log'), true);
      await series('gateway.exe under Wine, external PostgreSQL (Wine adds its own start-up)', runs, () =>
        timeToFirstAssociation(WINDOWS_EXE, winePath(wineConfig), port, path.join(folder, 'wine.log'), true),
      );
    } else {
      console.log('(set TEST_DATABASE_URL to also time an external PostgreSQL and gateway.exe under Wine)');
    }
    const verdict = median(embedded) < 2000 ? 'met' : 'NOT met';
    console.log(`\ntarget under 2000 ms on Linux (embedded, existing data folder): ${verdict}`);
  } finally {
    fs.rmSync(folder, { recursive: true, force: true });
  }
}

main().then(
  () => process.exit(0),
  (err) => {
    console.error(`startup benchmark failed: ${(err as Error).message}`);
    process.exit(1);
  },
);
