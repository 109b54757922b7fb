import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { decodeCsrRequest, decodeIssuedCertificate, decisionOf, readCsr, type DecodedCsr } from '../../../core/detection/csr.js';
import type { AuditEvent } from '../../../core/model/event.js';
import { generateCsrPem, generateIssuedCertPem, type KeyKind } from '../../../scripts/gen-test-csrs.js';

const b64 = (text: string): string => Buffer.from(text, 'utf8').toString('base64');
const derOf = (pem: string): Buffer => Buffer.from(pem.replace(/-----[A-Z ]+-----/g, '').replace(/\s+/g, ''), 'base64');

function decoded(value: unknown): DecodedCsr {
  const r = decodeCsrRequest(value);
  if (!r.ok) throw new Error(`expected a decoded CSR, got ${r.problem}: ${r.detail}`);
  return r.value;
}

describe('csr decode of freshly generated requests', () => {
  const cases: Array<[string, KeyKind, { type: string; bits: number; curve?: string }]> = [
    ['rsa', 'rsa-2048', { type: 'rsa', bits: 2048 }],
    ['ec', 'ec-p256', { type: 'ec', bits: 256, curve: 'prime256v1' }],
  ];
  for (const [label, key, publicKey] of cases) {
    it(`reads O=system:masters on all three base64 alignments (${label})`, async () => {
      const alignments: number[] = [];
      for (const cn of ['a', 'ab', 'abc']) {
        const pem = await generateCsrPem({ subject: `CN=${cn}, O=system:masters`, key });
        alignments.push(derOf(pem).indexOf(Buffer.from('system:masters')) % 3);
        const csr = decoded(b64(pem));
        expect(csr.subject.commonNames).toEqual([cn]);
        expect(csr.subject.organizations).toEqual(['system:masters']);
        expect(csr.requestedUser).toBe(cn);
        expect(csr.publicKey).toEqual(publicKey);
      }
      expect([...alignments].sort()).toEqual([0, 1, 2]);
    });
  }

  it('reads the Stratus request: CN=system:kube-controller-manager and no O', async () => {
    const csr = decoded(b64(await generateCsrPem({ subject: 'CN=system:kube-controller-manager', key: 'rsa-2048' })));
    expect(csr.subject).toEqual({ commonNames: ['system:kube-controller-manager'], organizations: [], text: 'CN=system:kube-controller-manager' });
  });

  it('reads every CN and O, the last CN as the requested user, and SANs', async () => {
    const pem = await generateCsrPem({ subject: 'CN=harmless, CN=system:kube-scheduler, O=dev, O=system:masters', key: 'ec-p384', dnsNames: ['api.example.com'] });
    const csr = decoded(b64(pem));
    expect(csr.subject.commonNames).toEqual(['harmless', 'system:kube-scheduler']);
    expect(csr.subject.organizations).toEqual(['dev', 'system:masters']);
    expect(csr.requestedUser).toBe('system:kube-scheduler');
    expect(csr.sans).toEqual({ dns: ['api.example.com'], email: [], ip: [], uri: [], other: [] });
    expect(csr.publicKey).toEqual({ type: 'ec', bits: 384, curve: 'secp384r1' });
  });

  it('reads a legitimate user request', async () => {
    const csr = decoded(b64(await generateCsrPem({ subject: 'CN=alice@example.com, O=dev-team', key: 'ec-p256' })));
    expect([csr.subject.commonNames, csr.subject.organizations]).toEqual([['alice@example.com'], ['dev-team']]);
  });
});

describe('csr decode of hostile input', () => {
  const pemPromise = generateCsrPem({ subject: 'CN=ab, O=system:masters', key: 'ec-p256' });
  const cases: Array<[string, () => Promise<unknown>, string]> = [
    ['absent', async () => undefined, 'absent'],
    ['the size marker', async () => 'skipped-too-big-size-object', 'skipped-body'],
    ['a number', async () => 42, 'not-string'],
    ['an object', async () => ({ request: 'x' }), 'not-string'],
    ['text that is not base64', async () => 'not base64 at all!', 'not-base64'],
    ['base64 with bad length', async () => 'QUJD=', 'not-base64'],
    ['base64 of plain text', async () => b64('hello'), 'not-pem'],
    ['a PEM header with no end', async () => b64('-----BEGIN CERTIFICATE REQUEST-----'), 'not-pem'],
    ['a certificate instead of a request', async () => b64(await generateIssuedCertPem('CN=x', '01')), 'not-csr'],
    ['truncated DER', async () => {
      const der = derOf(await pemPromise);
      return b64(`-----BEGIN CERTIFICATE REQUEST-----\n${der.subarray(0, 60).toString('base64')}\n-----END CERTIFICATE REQUEST-----\n`);
    }, 'malformed-der'],
    ['random DER', async () => b64(`-----BEGIN CERTIFICATE REQUEST-----\n${Buffer.from('0123456789abcdef').toString('base64')}\n-----END CERTIFICATE REQUEST-----\n`), 'malformed-der'],
    ['an oversized request', async () => b64(`-----BEGIN CERTIFICATE REQUEST-----\n${'A'.repeat(70_000)}\n-----END CERTIFICATE REQUEST-----\n`), 'too-large'],
  ];
  for (const [label, value, problem] of cases) {
    it(`returns ${problem} for ${label}`, async () => {
      const r = decodeCsrRequest(await value());
      expect(r.ok).toBe(false);
      if (!r.ok) expect(r.problem).toBe(problem);
    });
  }
});

describe('csr issued certificate', () => {
  it('hashes the leaf DER the way the API server builds X509SHA256 credential ids', async () => {
    const pem = await generateIssuedCertPem('CN=system:kube-controller-manager', '5e1f');
    const sha = createHash('sha256').update(derOf(pem)).digest('hex');
    const r = decodeIssuedCertificate(b64(pem));
    expect(r.ok && r.value).toMatchObject({
      sha256: sha,
      credentialId: `X509SHA256=${sha}`,
      subject: { commonNames: ['system:kube-controller-manager'], organizations: [] },
      issuer: 'CN=kubernetes',
      serialNumber: '5e1f',
      notBefore: '2026-03-02T09:00:00.000Z',
    });
  });
});

describe('csr view of an event', () => {
  const event = (fields: Partial<AuditEvent>): AuditEvent => fields as AuditEvent;

  it('reads the approval decision and requester from requestObject', async () => {
    const pem = await generateCsrPem({ subject: 'CN=a', key: 'ec-p256' });
    const view = readCsr(event({
      requestObject: {
        spec: { request: b64(pem), signerName: 'kubernetes.io/kube-apiserver-client', usages: ['client auth'], expirationSeconds: 864000, username: 'bob', groups: ['system:authenticated'], extra: { 'authentication.kubernetes.io/credential-id': ['JTI=1'] } },
        status: { conditions: [{ type: 'Approved', status: 'True', reason: 'KubectlApprove' }] },
      },
    }));
    expect(view.signerName).toBe('kubernetes.io/kube-apiserver-client');
    expect(view.usages).toEqual(['client auth']);
    expect(view.expirationSeconds).toBe(864000);
    expect(view.requester).toEqual({ username: 'bob', groups: ['system:authenticated'], extra: { 'authentication.kubernetes.io/credential-id': ['JTI=1'] } });
    expect(decisionOf(view)).toBe('Approved');
    expect(view.request.ok).toBe(true);
  });

  it('falls back to responseObject (a read, or a GKE response without @type) for the certificate', async () => {
    const cert = await generateIssuedCertPem('CN=n', '02');
    const view = readCsr(event({ responseObject: { '@type': 'certificates.k8s.io/v1.CertificateSigningRequest', spec: { signerName: 's', usages: [] }, status: { certificate: b64(cert) } } }));
    expect(view.certificate?.ok).toBe(true);
    expect(view.request).toMatchObject({ ok: false, problem: 'absent' });
  });

  it('says the body was replaced by a size marker', () => {
    expect(readCsr(event({ requestObject: 'skipped-too-big-size-object' })).request).toMatchObject({ ok: false, problem: 'skipped-body' });
  });

  it('decodes a request or certificate seen again in a later event of its lifecycle once, and the same either way', async () => {
    const pem = await generateCsrPem({ subject: 'CN=again, O=dev', key: 'ec-p256' });
    const cert = await generateIssuedCertPem('CN=again', '07');
    const created = readCsr(event({ requestObject: { spec: { request: b64(pem) } } }));
    const issued = readCsr(event({ requestObject: { spec: { request: b64(pem) }, status: { certificate: b64(cert) } } }));
    const read = readCsr(event({ responseObject: { spec: { request: b64(pem) }, status: { certificate: b64(cert) } } }));
    expect(issued.request).toBe(created.request);
    expect(read.certificate).toBe(issued.certificate);
    expect(read.request).toEqual(decodeCsrRequest(b64(pem)));
    expect(read.certificate).toEqual(decodeIssuedCertificate(b64(cert)));
    expect(read.request.ok && read.request.value.subject).toEqual({ commonNames: ['again'], organizations: ['dev'], text: 'CN=again, O=dev' });
  });

  it('reads a denial', () => {
    expect(decisionOf(readCsr(event({ requestObject: { status: { conditions: [{ type: 'Denied', status: 'True' }] } } })))).toBe('Denied');
  });
});
