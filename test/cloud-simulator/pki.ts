// Certificates for the cloud simulator: the test PKI (test/helpers/certificates.ts) plus the bad ones a real
// deployment meets: a certificate for another host, an expired one, and a whole other CA (an intercepting proxy),
// with a server and a client certificate of its own.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { makeTestPki, type TestPki } from '../helpers/certificates';

export interface CloudPki extends TestPki {
  /** Signed by the test CA, valid, but for elsewhere.example only. */
  wrongHostCertFile: string;
  wrongHostKeyFile: string;
  /** Signed by the test CA for localhost/127.0.0.1, expired in 2020. */
  expiredCertFile: string;
  expiredKeyFile: string;
  /** Another CA ("Intercepting Proxy CA") the client does not trust, and certificates it issued. */
  rogueCaFile: string;
  rogueServerCertFile: string;
  rogueServerKeyFile: string;
  rogueClientCertFile: string;
  rogueClientKeyFile: string;
}

const SERVER_EXT = 'subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n';

export function makeCloudPki(dir: string): CloudPki {
  const pki = makeTestPki(dir);
  const file = (name: string) => path.join(dir, name);
  const openssl = (...args: string[]) => execFileSync('openssl', args, { stdio: 'pipe' });
  const request = (name: string, subject: string) => openssl('req', '-newkey', 'rsa:2048', '-nodes', '-subj', subject, '-keyout', file(`${name}.key`), '-out', file(`${name}.csr`));
  const sign = (name: string, ca: string, extensions: string) => {
    fs.writeFileSync(file(`${name}.ext`), extensions);
    openssl(
      'x509',
      '-req',
      '-in',
      file(`${name}.csr`),
      '-CA',
      file(`${ca}.crt`),
      '-CAkey',
      file(`${ca}.key`),
      '-CAcreateserial',
      '-days',
      '2',
      '-extfile',
      file(`${name}.ext`),
      '-out',
      file(`${name}.crt`),
    );
  };

  request('wrong-host', '/CN=elsewhere.example');
  sign('wrong-host', 'ca', 'subjectAltName=DNS:elsewhere.example\nextendedKeyUsage=serverAuth\n');

  // openssl x509 (3.0) cannot backdate; `openssl ca` can.
  request('expired', '/CN=localhost');
  fs.mkdirSync(file('ca-db'), { recursive: true });
  fs.writeFileSync(file('ca-db/index.txt'), '');
  fs.writeFileSync(file('ca-db/serial'), '1000\n');
  fs.writeFileSync(file('expired.ext'), SERVER_EXT);
  fs.writeFileSync(
    file('ca.cnf'),
    [
      '[ca]',
      'default_ca = test_ca',
      '[test_ca]',
      `database = ${file('ca-db/index.txt')}`,
      `new_certs_dir = ${file('ca-db')}`,
      `serial = ${file('ca-db/serial')}`,
      'default_md = sha256',
      'policy = any',
      'unique_subject = no',
      '[any]',
      'commonName = supplied',
      '',
    ].join('\n'),
  );
  openssl(
    'ca',
    '-batch',
    '-notext',
    '-config',
    file('ca.cnf'),
    '-cert',
    file('ca.crt'),
    '-keyfile',
    file('ca.key'),
    '-in',
    file('expired.csr'),
    '-out',
    file('expired.crt'),
    '-startdate',
    '20200101000000Z',
    '-enddate',
    '20200201000000Z',
    '-extfile',
    file('expired.ext'),
  );

  openssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '2', '-subj', '/CN=Intercepting Proxy CA', '-keyout', file('rogue-ca.key'), '-out', file('rogue-ca.crt'));
  request('rogue-server', '/CN=localhost');
  sign('rogue-server', 'rogue-ca', SERVER_EXT);
  request('rogue-client', '/CN=Somebody Else');
  sign('rogue-client', 'rogue-ca', 'extendedKeyUsage=clientAuth\n');

  return {
    ...pki,
    wrongHostCertFile: file('wrong-host.crt'),
    wrongHostKeyFile: file('wrong-host.key'),
    expiredCertFile: file('expired.crt'),
    expiredKeyFile: file('expired.key'),
    rogueCaFile: file('rogue-ca.crt'),
    rogueServerCertFile: file('rogue-server.crt'),
    rogueServerKeyFile: file('rogue-server.key'),
    rogueClientCertFile: file('rogue-client.crt'),
    rogueClientKeyFile: file('rogue-client.key'),
  };
}

/** The gateway's upstream for a DICOM-TLS simulator on this port (AE CLOUDPACS) with the test PKI, mutual TLS. */
export function dicomTlsCloudUpstream(pki: TestPki, port: number, calledAeTitle = 'CLOUDPACS') {
  return { kind: 'dicom-tls', host: 'localhost', port, calledAeTitle, caFile: pki.caFile, certFile: pki.clientCertFile, keyFile: pki.clientKeyFile, storageCommitment: false };
}
