import 'reflect-metadata';
import { webcrypto } from 'node:crypto';
import * as x509 from '@peculiar/x509';

/**
 * A throw-away self-signed certificate for 127.0.0.1, minted at test start-up: the Azure bearer
 * token policy refuses plain HTTP, and trusting this one certificate through the client's
 * `tlsOptions.ca` keeps verification on everywhere else.
 */
export interface LoopbackCert {
  /** PEM certificate, to pass as `tlsOptions.ca` and to the server. */
  cert: string;
  /** PEM PKCS#8 private key. */
  key: string;
}

const crypto = webcrypto;

function pem(label: string, der: ArrayBuffer): string {
  const b64 = Buffer.from(der).toString('base64').replace(/(.{64})/g, '$1\n');
  return `-----BEGIN ${label}-----\n${b64.trimEnd()}\n-----END ${label}-----\n`;
}

export async function createLoopbackCert(): Promise<LoopbackCert> {
  const alg = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' };
  const keys = (await crypto.subtle.generateKey(alg, true, ['sign', 'verify']));
  const now = Date.now();
  const cert = await x509.X509CertificateGenerator.createSelfSigned(
    {
      serialNumber: '01',
      name: 'CN=127.0.0.1',
      notBefore: new Date(now - 60_000),
      notAfter: new Date(now + 24 * 3_600_000),
      signingAlgorithm: alg,
      keys: keys,
      extensions: [
        new x509.BasicConstraintsExtension(true, undefined, true),
        new x509.SubjectAlternativeNameExtension([
          { type: 'ip', value: '127.0.0.1' },
          { type: 'dns', value: 'localhost' },
        ]),
      ],
    },
    // x509 types its crypto parameter with the DOM `Crypto`, which Node's webcrypto implements.
    crypto as never,
  );
  const pkcs8 = await crypto.subtle.exportKey('pkcs8', keys.privateKey);
  return { cert: cert.toString('pem'), key: pem('PRIVATE KEY', pkcs8) };
}
