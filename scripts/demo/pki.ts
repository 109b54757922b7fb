// @peculiar/x509 resolves its ASN.1 schemas through tsyringe, which needs a Reflect polyfill loaded first.
import 'reflect-metadata';
import { createHash, createPrivateKey, createPublicKey, webcrypto } from 'node:crypto';
import * as x509 from '@peculiar/x509';

/**
 * Real PKCS#10 requests and certificates for the demo's CSR traffic. Ed25519 is used because its
 * signatures are deterministic: the same seed gives the same PEM bytes on every run, which keeps
 * the committed demo data reproducible (ECDSA signatures are randomised).
 */

x509.cryptoProvider.set(webcrypto as never);

const ED25519 = { name: 'Ed25519' } as const;
// PKCS#8 wrapping of a raw 32-byte Ed25519 seed (RFC 8410 §7).
const PKCS8_ED25519_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');

async function keysFromSeed(label: string): Promise<webcrypto.CryptoKeyPair> {
  const seed = createHash('sha256').update(`credwatch-demo:${label}`).digest();
  const pkcs8 = Buffer.concat([PKCS8_ED25519_PREFIX, seed]);
  const spki = createPublicKey(createPrivateKey({ key: pkcs8, format: 'der', type: 'pkcs8' })).export({ format: 'der', type: 'spki' });
  const privateKey = await webcrypto.subtle.importKey('pkcs8', pkcs8, ED25519, false, ['sign']);
  const publicKey = await webcrypto.subtle.importKey('spki', spki, ED25519, true, ['verify']);
  return { privateKey, publicKey };
}

export interface CsrSpec {
  /** RFC 4514 subject, e.g. `CN=system:node:n1, O=system:nodes`. */
  subject: string;
  dnsNames?: string[];
  ips?: string[];
}

/** A PEM certificate request signed by a key derived from `keyLabel`. */
export async function csrPem(keyLabel: string, spec: CsrSpec): Promise<string> {
  const keys = await keysFromSeed(keyLabel);
  const sans = [...(spec.dnsNames ?? []).map((value) => ({ type: 'dns' as const, value })), ...(spec.ips ?? []).map((value) => ({ type: 'ip' as const, value }))];
  const csr = await x509.Pkcs10CertificateRequestGenerator.create({
    name: spec.subject,
    keys,
    signingAlgorithm: ED25519,
    ...(sans.length === 0 ? {} : { extensions: [new x509.SubjectAlternativeNameExtension(sans)] }),
  });
  return csr.toString('pem');
}

/** A client certificate for `subject`, issued by the demo cluster CA on a fixed date. */
export async function issuedCertPem(keyLabel: string, subject: string, notBefore: Date): Promise<string> {
  const ca = await keysFromSeed('cluster-ca');
  const keys = await keysFromSeed(keyLabel);
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: createHash('sha256').update(keyLabel).digest('hex').slice(0, 16),
    subject,
    issuer: 'CN=kubernetes',
    notBefore,
    notAfter: new Date(notBefore.getTime() + 365 * 86_400_000),
    signingAlgorithm: ED25519,
    publicKey: keys.publicKey,
    signingKey: ca.privateKey,
    extensions: [new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.clientAuth])],
  });
  return cert.toString('pem');
}

export const base64 = (text: string): string => Buffer.from(text, 'utf8').toString('base64');
