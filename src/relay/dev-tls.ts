// --dev-tls (docs/decisions/relay.md): a self-signed certificate kept in the data
// folder (made once, reused on restart), identified by its SPKI pin.

import { execFileSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { chmodSync, existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { spkiPin } from '../api/spki-pin.js';

export interface TlsMaterial {
  readonly cert: string;
  readonly key: string;
  readonly pin: string;
}

export function pinOfCertificate(certPem: string | Buffer): string {
  const der = new X509Certificate(certPem).publicKey.export({ type: 'spki', format: 'der' });
  return spkiPin(new Uint8Array(der));
}

export function readTlsMaterial(certFile: string, keyFile: string): TlsMaterial {
  const cert = readFileSync(certFile, 'utf8');
  return { cert, key: readFileSync(keyFile, 'utf8'), pin: pinOfCertificate(cert) };
}

/** Returns the data folder's dev certificate, making it with Debian's openssl CLI the first time. */
export function ensureDevTls(dataDir: string, domain: string): TlsMaterial {
  const certFile = join(dataDir, 'dev-tls-cert.pem');
  const keyFile = join(dataDir, 'dev-tls-key.pem');
  if (!existsSync(certFile) || !existsSync(keyFile)) {
    const subjectAltName = [`DNS:${domain}`, 'DNS:localhost', 'IP:127.0.0.1', 'IP:::1'].join(',');
    execFileSync(
      'openssl',
      [
        'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
        '-keyout', keyFile, '-out', certFile, '-days', '825',
        '-subj', `/CN=${domain}`, '-addext', `subjectAltName=${subjectAltName}`,
      ],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    chmodSync(keyFile, 0o600);
  }
  return readTlsMaterial(certFile, keyFile);
}
