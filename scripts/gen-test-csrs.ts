// @peculiar/x509 resolves its ASN.1 schemas through tsyringe, which needs a Reflect polyfill loaded first.
import 'reflect-metadata';
import { webcrypto } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import * as x509 from '@peculiar/x509';

/**
 * Generates the CSRs and certificates the CSR rules' examples carry (rules/data/csr-samples.ts),
 * with real RSA and EC keys. Rule examples must be plain data (no randomness when rules are
 * evaluated), so this runs once and its output is committed; test/core/detection/csr.test.ts uses the
 * same functions to generate fresh requests at test time.
 *
 *   npx esbuild scripts/gen-test-csrs.ts --bundle --platform=node --format=esm --packages=external \
 *     --outfile=dist/scripts/gen-test-csrs.mjs && node dist/scripts/gen-test-csrs.mjs
 */

// Node's WebCrypto is the standard one; the cast only bridges Node's and the DOM's type names.
x509.cryptoProvider.set(webcrypto as never);

export type KeyKind = 'rsa-2048' | 'ec-p256' | 'ec-p384';

const ALGORITHMS: Record<KeyKind, webcrypto.RsaHashedKeyGenParams | webcrypto.EcKeyGenParams> = {
  'rsa-2048': { name: 'RSASSA-PKCS1-v1_5', modulusLength: 2048, publicExponent: new Uint8Array([1, 0, 1]), hash: 'SHA-256' },
  'ec-p256': { name: 'ECDSA', namedCurve: 'P-256' },
  'ec-p384': { name: 'ECDSA', namedCurve: 'P-384' },
};

function signing(kind: KeyKind): webcrypto.RsaHashedKeyGenParams | webcrypto.EcdsaParams {
  return kind.startsWith('ec') ? { name: 'ECDSA', hash: 'SHA-256' } : (ALGORITHMS[kind] as webcrypto.RsaHashedKeyGenParams);
}

async function keysFor(kind: KeyKind): Promise<webcrypto.CryptoKeyPair> {
  return (await webcrypto.subtle.generateKey(ALGORITHMS[kind], true, ['sign', 'verify']));
}

export interface CsrInit {
  /** RFC 4514 subject, e.g. `CN=ab, O=system:masters`. */
  subject: string;
  key: KeyKind;
  dnsNames?: string[];
}

/** A PEM PKCS#10 request signed by a fresh key. */
export async function generateCsrPem(init: CsrInit): Promise<string> {
  const keys = await keysFor(init.key);
  const extensions =
    init.dnsNames === undefined ? [] : [new x509.SubjectAlternativeNameExtension(init.dnsNames.map((value) => ({ type: 'dns' as const, value })))];
  const csr = await x509.Pkcs10CertificateRequestGenerator.create({
    name: init.subject,
    keys,
    signingAlgorithm: signing(init.key),
    extensions,
  });
  return csr.toString('pem');
}

/** A client certificate for `subject`, signed by a throwaway cluster CA (what a signer writes to status.certificate). */
export async function generateIssuedCertPem(subject: string, serial: string): Promise<string> {
  const caKeys = await keysFor('ec-p256');
  const leafKeys = await keysFor('ec-p256');
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: serial,
    subject,
    issuer: 'CN=kubernetes',
    notBefore: new Date('2026-03-02T09:00:00Z'),
    notAfter: new Date('2027-03-02T09:00:00Z'),
    signingAlgorithm: signing('ec-p256'),
    publicKey: leafKeys.publicKey,
    signingKey: caKeys.privateKey,
    extensions: [new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.clientAuth])],
  });
  return cert.toString('pem');
}

/** What the committed samples are: name → subject and key. */
export const SAMPLE_CSRS: Record<string, CsrInit> = {
  // O=system:masters behind CNs of 1, 2 and 3 characters: the O value lands on all three base64 alignments, so a substring match on the encoded request misses two of them.
  mastersCn1: { subject: 'CN=a, O=system:masters', key: 'ec-p256' },
  mastersCn2: { subject: 'CN=ab, O=system:masters', key: 'rsa-2048' },
  mastersCn3: { subject: 'CN=abc, O=system:masters', key: 'ec-p384' },
  // The Stratus request: CN=system:kube-controller-manager and no O.
  stratus: { subject: 'CN=system:kube-controller-manager', key: 'rsa-2048' },
  // A legitimate user certificate: the requester asks for their own name.
  aliceUser: { subject: 'CN=alice@example.com, O=dev-team', key: 'ec-p256' },
  // A kubelet client certificate as node TLS bootstrap requests it.
  gkeNode: { subject: 'CN=system:node:gke-prod-1-pool-1-7f3a, O=system:nodes', key: 'ec-p256' },
  // A cloud control-plane name that allowlists trust by name.
  eksSpoof: { subject: 'CN=eks:addon-manager', key: 'ec-p256' },
  // A controller service-account name.
  saSpoof: { subject: 'CN=system:serviceaccount:kube-system:certificate-controller', key: 'ec-p256' },
  // A client certificate for someone else.
  otherUser: { subject: 'CN=bob@example.com', key: 'ec-p256' },
};

export const SAMPLE_CERTS: Record<string, { subject: string; serial: string }> = {
  stratusCert: { subject: 'CN=system:kube-controller-manager', serial: '5e1f' },
  gkeNodeCert: { subject: 'CN=system:node:gke-prod-1-pool-1-7f3a, O=system:nodes', serial: '6a2b' },
  bootstrapCert: { subject: 'CN=kubelet-nodepool-bootstrap', serial: '7c3d' },
};

async function main(): Promise<void> {
  const lines = [
    '// Generated by scripts/gen-test-csrs.ts (real RSA/EC keys); do not edit by hand.',
    '// PEM requests and certificates for the CSR rules\' examples; see docs/rules-csr.md.',
    '',
  ];
  for (const [name, init] of Object.entries(SAMPLE_CSRS)) {
    lines.push(`/** ${init.subject} (${init.key}) */`);
    lines.push(`export const ${name} = ${JSON.stringify(await generateCsrPem(init))};`);
  }
  for (const [name, c] of Object.entries(SAMPLE_CERTS)) {
    lines.push(`/** issued certificate ${c.subject} */`);
    lines.push(`export const ${name} = ${JSON.stringify(await generateIssuedCertPem(c.subject, c.serial))};`);
  }
  lines.push('');
  // Run from dist/scripts/ (compiled) or scripts/: either way the output goes to the source tree.
  const up = import.meta.url.includes('/dist/scripts/') ? '../../' : '../';
  const out = fileURLToPath(new URL(`${up}rules/data/csr-pems.ts`, import.meta.url));
  writeFileSync(out, lines.join('\n'));
  process.stdout.write(`wrote ${out}\n`);
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) await main();
