// Authenticode signing of the Windows package with osslsigncode, which signs PE files and PowerShell scripts
// (.ps1, .psm1, .psd1) alike. The certificate comes from the environment: DICOM_GATEWAY_SIGNING_PFX (a PKCS#12 file)
// and DICOM_GATEWAY_SIGNING_PASSWORD; DICOM_GATEWAY_SIGNING_TIMESTAMP_URL adds an RFC 3161 timestamp so that the
// signatures outlive the certificate.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';

export interface SigningCertificate {
  pfxFile: string;
  password: string;
  timestampUrl?: string;
}

/** The certificate the environment gives, undefined when it gives none; a PFX without its password is an error. */
export function signingCertificateFromEnvironment(env: NodeJS.ProcessEnv = process.env): SigningCertificate | undefined {
  const pfxFile = env.DICOM_GATEWAY_SIGNING_PFX;
  if (!pfxFile) return undefined;
  if (!fs.existsSync(pfxFile)) throw new Error(`DICOM_GATEWAY_SIGNING_PFX ${pfxFile} does not exist`);
  const password = env.DICOM_GATEWAY_SIGNING_PASSWORD;
  if (password === undefined) throw new Error('DICOM_GATEWAY_SIGNING_PFX is set but DICOM_GATEWAY_SIGNING_PASSWORD is not');
  return { pfxFile, password, timestampUrl: env.DICOM_GATEWAY_SIGNING_TIMESTAMP_URL || undefined };
}

/** Signs each file in place (a signature already there is replaced). The password goes through a file, never argv. */
export function signFiles(files: string[], certificate: SigningCertificate, description = 'DICOM Gateway'): void {
  const passwordFile = `${certificate.pfxFile}.${process.pid}.pass`;
  fs.writeFileSync(passwordFile, certificate.password, { mode: 0o600 });
  try {
    for (const file of files) {
      const signed = `${file}.signed`;
      const timestamp = certificate.timestampUrl ? ['-ts', certificate.timestampUrl] : [];
      try {
        execFileSync('osslsigncode', ['sign', '-pkcs12', certificate.pfxFile, '-readpass', passwordFile, '-n', description, '-h', 'sha256', ...timestamp, '-in', file, '-out', signed], {
          stdio: ['ignore', 'pipe', 'pipe'],
        });
      } catch (err) {
        fs.rmSync(signed, { force: true });
        throw new Error(`osslsigncode could not sign ${file}: ${String((err as { stderr?: Buffer }).stderr ?? (err as Error).message).trim()}`);
      }
      fs.renameSync(signed, file);
    }
  } finally {
    fs.rmSync(passwordFile, { force: true });
  }
}

/** osslsigncode verify against the given CA file: throws naming the file when its signature does not verify. */
export function verifySignature(file: string, caFile: string): void {
  try {
    execFileSync('osslsigncode', ['verify', '-CAfile', caFile, '-in', file], { stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (err) {
    throw new Error(`the signature of ${file} does not verify: ${String((err as { stdout?: Buffer }).stdout ?? '').trim()}`);
  }
}
