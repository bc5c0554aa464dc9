import type { UpstreamConfig } from '../config/upstream-config';

/**
 * How the cloud is named to people (status, logs, the connectivity test): CALLEDAE@host:port for DICOM-TLS, the
 * STOW-RS base URL without any user or password in it. Never a token.
 */
export function upstreamTarget(upstream: UpstreamConfig): string {
  if (upstream.kind === 'dicom-tls') return `${upstream.calledAeTitle}@${upstream.host}:${upstream.port}`;
  const url = new URL(upstream.url!);
  url.username = '';
  url.password = '';
  return url.toString();
}
