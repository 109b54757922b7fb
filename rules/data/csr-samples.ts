import { createHash, X509Certificate } from 'node:crypto';
import * as pems from './csr-pems.js';

/**
 * The CSR rules' sample requests and certificates: real PKCS#10 requests and certificates made
 * once by scripts/gen-test-csrs.ts (csr-pems.ts), plus the encodings the examples need.
 */

export const PEM = pems;

/** A PEM as `spec.request` / `status.certificate` carry it: the JSON encoding of `[]byte`. */
export function b64(pem: string): string {
  return Buffer.from(pem, 'utf8').toString('base64');
}

/** The `X509SHA256=<hex>` credential id a request authenticated with this certificate carries. */
export function credentialIdOf(certPem: string): string {
  // Node's own X.509 parser, not the decoder under test: an independent hash checks the decoder
  // rather than repeating it, and building the examples loads no codec.
  return `X509SHA256=${createHash('sha256').update(new X509Certificate(certPem).raw).digest('hex')}`;
}

/** Hostile `spec.request` values: each must decode to a typed problem, never an exception. */
export const HOSTILE_REQUESTS = Object.freeze({
  notBase64: '!!! this is not base64 !!!',
  notPem: b64('hello, I am not a PEM block\n'),
  /** A certificate where a request belongs. */
  notCsr: b64(pems.stratusCert),
  /** The DER of a real request cut in half, re-wrapped as PEM. */
  truncatedDer: b64(rewrap(pems.mastersCn2, 0.5)),
  /** 80 KiB of request: over the decoder's 64 KiB bound. */
  oversized: b64(`-----BEGIN CERTIFICATE REQUEST-----\n${'QUFB'.repeat(20_480)}\n-----END CERTIFICATE REQUEST-----\n`),
});

function rewrap(pem: string, keep: number): string {
  const body = pem.replace(/-----[A-Z ]+-----/g, '').replace(/\s+/g, '');
  const der = Buffer.from(body, 'base64');
  const cut = der.subarray(0, Math.floor(der.length * keep)).toString('base64');
  return `-----BEGIN CERTIFICATE REQUEST-----\n${cut.replace(/(.{64})/g, '$1\n')}\n-----END CERTIFICATE REQUEST-----\n`;
}
