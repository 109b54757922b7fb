import { createHash, createPublicKey } from 'node:crypto';
import { oncePerEvent } from './memo.js';
import { createRequire } from 'node:module';
import type { Name, Pkcs10CertificateRequest } from '@peculiar/x509';
import { SKIPPED_BODY_MARKER, type AuditEvent } from '../model/event.js';
import type { RuntimeEvent } from '../model/runtime-event.js';

/**
 * What a CertificateSigningRequest event says (docs/rules-csr.md): the requested
 * subject decoded from `spec.request` with a real ASN.1 parser, what the API server filled in about
 * the requester (`spec.username/groups/extra`), and the certificate a signer issued. Never throws:
 * hostile or cut input becomes `{ ok: false, problem }`.
 */

/** Larger than any real CSR (a few KiB); bounds the work an attacker-controlled body can cause. */
export const MAX_CSR_BYTES = 64 * 1024;

export type CsrProblem =
  | 'absent'
  | 'skipped-body'
  | 'not-string'
  | 'too-large'
  | 'not-base64'
  | 'not-pem'
  | 'not-csr'
  | 'malformed-der';

export type Decoded<T> = { ok: true; value: T } | { ok: false; problem: CsrProblem; detail: string };

export interface X509Subject {
  /** Every CN in the subject, in order. Go's x509 (hence Kubernetes) takes the last as the user name. */
  commonNames: string[];
  /** Every O: Kubernetes turns each into a group. */
  organizations: string[];
  text: string;
}

export interface PublicKeyFacts {
  /** `rsa`, `rsa-pss`, `ec`, `ed25519`, … as Node names them; `unknown` when unreadable. */
  type: string;
  /** Modulus bits for RSA, curve size for EC. */
  bits?: number;
  curve?: string;
}

export interface SubjectAltNames {
  dns: string[];
  email: string[];
  ip: string[];
  uri: string[];
  /** SAN entries of other kinds, or the reason the extension could not be read. */
  other: string[];
}

export interface DecodedCsr {
  subject: X509Subject;
  sans: SubjectAltNames;
  publicKey: PublicKeyFacts;
  /** The name Kubernetes would give a certificate issued from this request (the last CN). */
  requestedUser?: string;
}

export interface IssuedCertificate {
  /** Lower-case hex SHA-256 of the leaf certificate's DER. */
  sha256: string;
  /** The id the API server stamps on requests authenticated with it (`X509SHA256=<hex>`). */
  credentialId: string;
  subject: X509Subject;
  issuer: string;
  serialNumber: string;
  notBefore: string;
  notAfter: string;
}

export interface CsrCondition {
  type: string;
  status?: string;
  reason?: string;
  message?: string;
}

/** `spec.username/uid/groups/extra`: set by the API server from the requester, never from the CSR. */
export interface CsrRequester {
  username?: string;
  uid?: string;
  groups?: string[];
  extra?: Record<string, string[]>;
}

export interface CsrView {
  signerName?: string;
  usages: string[];
  expirationSeconds?: number;
  requester: CsrRequester;
  /** The decoded `spec.request`. */
  request: Decoded<DecodedCsr>;
  conditions: CsrCondition[];
  /** The decoded `status.certificate`, when the body carries one. */
  certificate?: Decoded<IssuedCertificate>;
}

type X509Codec = typeof import('@peculiar/x509');
let codec: X509Codec | undefined;

/**
 * @peculiar/x509 with asn1js and tsyringe is ~180 modules, most of a scan's start-up, and only a
 * CSR body needs it, so it is loaded on first need. The pipeline awaits `loadCsrCodec` before it
 * hands the engine a CSR event (`needsCsrCodec`), so the decoders and the rules stay synchronous;
 * the dynamic import is also what a bundler follows into the bundle.
 */
export async function loadCsrCodec(): Promise<void> {
  if (codec !== undefined) return;
  // It resolves its ASN.1 schemas through tsyringe, which needs a Reflect polyfill loaded first.
  await import('reflect-metadata');
  codec ??= await import('@peculiar/x509');
}

/** Whether evaluating `event` may decode X.509 and the codec is not loaded yet. */
export function needsCsrCodec(event: AuditEvent | RuntimeEvent): boolean {
  return codec === undefined && event.kind !== 'runtime' && event.target.resource === 'certificatesigningrequests';
}

/**
 * A caller that evaluates without the pipeline (a test, a rule's examples) gets the CommonJS
 * build loaded synchronously; a bundle without `import.meta.url` or node_modules must preload.
 */
function x509(): X509Codec {
  if (codec === undefined) {
    let require: NodeJS.Require;
    try {
      require = createRequire(import.meta.url);
    } catch {
      throw new Error('the X.509 codec is not loaded: await loadCsrCodec() before evaluating CSR events');
    }
    require('reflect-metadata');
    codec = require('@peculiar/x509') as X509Codec;
  }
  return codec;
}

const CSR_PEM_TYPES = new Set(['CERTIFICATE REQUEST', 'NEW CERTIFICATE REQUEST']);
const OID_CN = '2.5.4.3';
const OID_O = '2.5.4.10';
const OID_SAN = '2.5.29.17';
const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

const fail = <T>(problem: CsrProblem, detail: string): Decoded<T> => ({ ok: false, problem, detail });
const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const str = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);
const strings = (v: unknown): string[] => (Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : []);
const message = (err: unknown): string => (err instanceof Error ? err.message : String(err)).slice(0, 200);

/** `[]byte` fields travel as standard base64 in JSON; Buffer.from alone would accept garbage. */
function decodeBase64(value: unknown): Decoded<string> {
  if (value === undefined || value === null) return fail('absent', 'no value');
  if (value === SKIPPED_BODY_MARKER) return fail('skipped-body', 'the log replaced the body with a size marker');
  if (typeof value !== 'string') return fail('not-string', `a ${Array.isArray(value) ? 'list' : typeof value}, not base64 text`);
  if (value.length > Math.ceil((MAX_CSR_BYTES * 4) / 3) + 4) return fail('too-large', `${value.length} characters of base64`);
  const compact = value.replace(/\s+/g, '');
  if (compact === '') return fail('absent', 'empty value');
  if (compact.length % 4 !== 0 || !BASE64.test(compact)) return fail('not-base64', 'not standard base64');
  return { ok: true, value: Buffer.from(compact, 'base64').toString('latin1') };
}

function pemBlocks(text: string): Decoded<Array<{ type: string; der: ArrayBuffer }>> {
  if (!text.includes('-----BEGIN ')) return fail('not-pem', 'no PEM block');
  try {
    const blocks = x509().PemConverter.decodeWithHeaders(text).map((b) => ({ type: b.type, der: b.rawData }));
    return blocks.length === 0 ? fail('not-pem', 'no complete PEM block') : { ok: true, value: blocks };
  } catch (err) {
    return fail('not-pem', message(err));
  }
}

function subjectOf(name: Name, text: string): X509Subject {
  return { commonNames: name.getField(OID_CN), organizations: name.getField(OID_O), text };
}

function sansOf(csr: Pkcs10CertificateRequest): SubjectAltNames {
  const sans: SubjectAltNames = { dns: [], email: [], ip: [], uri: [], other: [] };
  try {
    const ext = csr.getExtension(OID_SAN);
    if (!(ext instanceof x509().SubjectAlternativeNameExtension)) return sans;
    for (const n of ext.names.items) {
      if (n.type === 'dns') sans.dns.push(n.value);
      else if (n.type === 'email') sans.email.push(n.value);
      else if (n.type === 'ip') sans.ip.push(n.value);
      else if (n.type === 'url') sans.uri.push(n.value);
      else sans.other.push(`${n.type}:${n.value}`);
    }
  } catch (err) {
    sans.other.push(`unreadable: ${message(err)}`);
  }
  return sans;
}

const EC_BITS: Record<string, number> = { prime256v1: 256, secp256k1: 256, secp384r1: 384, secp521r1: 521 };

function publicKeyOf(spki: ArrayBuffer): PublicKeyFacts {
  try {
    const key = createPublicKey({ key: Buffer.from(spki), format: 'der', type: 'spki' });
    const details = key.asymmetricKeyDetails ?? {};
    const facts: PublicKeyFacts = { type: key.asymmetricKeyType ?? 'unknown' };
    if (details.modulusLength !== undefined) facts.bits = details.modulusLength;
    if (details.namedCurve !== undefined) {
      facts.curve = details.namedCurve;
      const bits = EC_BITS[details.namedCurve];
      if (bits !== undefined) facts.bits = bits;
    }
    return facts;
  } catch {
    return { type: 'unknown' };
  }
}

/** Decodes `spec.request`: base64 → PEM → PKCS#10 DER → subject, SANs, key. */
export function decodeCsrRequest(value: unknown): Decoded<DecodedCsr> {
  const text = decodeBase64(value);
  if (!text.ok) return text;
  const blocks = pemBlocks(text.value);
  if (!blocks.ok) return blocks;
  const block = blocks.value.find((b) => CSR_PEM_TYPES.has(b.type));
  if (block === undefined) return fail('not-csr', `PEM block is ${blocks.value[0]?.type ?? 'empty'}, not CERTIFICATE REQUEST`);
  try {
    const csr = new (x509().Pkcs10CertificateRequest)(block.der);
    const subject = subjectOf(csr.subjectName, csr.subject);
    const decoded: DecodedCsr = { subject, sans: sansOf(csr), publicKey: publicKeyOf(csr.publicKey.rawData) };
    const last = subject.commonNames[subject.commonNames.length - 1];
    if (last !== undefined) decoded.requestedUser = last;
    return { ok: true, value: decoded };
  } catch (err) {
    return fail('malformed-der', message(err));
  }
}

/** Decodes `status.certificate` (a PEM chain, leaf first) and hashes the leaf like the API server does. */
export function decodeIssuedCertificate(value: unknown): Decoded<IssuedCertificate> {
  const text = decodeBase64(value);
  if (!text.ok) return text;
  const blocks = pemBlocks(text.value);
  if (!blocks.ok) return blocks;
  const leaf = blocks.value.find((b) => b.type === 'CERTIFICATE');
  if (leaf === undefined) return fail('not-csr', `PEM block is ${blocks.value[0]?.type ?? 'empty'}, not CERTIFICATE`);
  try {
    const cert = new (x509().X509Certificate)(leaf.der);
    const sha256 = createHash('sha256').update(Buffer.from(leaf.der)).digest('hex');
    return {
      ok: true,
      value: {
        sha256,
        credentialId: `X509SHA256=${sha256}`,
        subject: subjectOf(cert.subjectName, cert.subject),
        issuer: cert.issuer,
        serialNumber: cert.serialNumber,
        notBefore: cert.notBefore.toISOString(),
        notAfter: cert.notAfter.toISOString(),
      },
    };
  } catch (err) {
    return fail('malformed-der', message(err));
  }
}

function requesterOf(spec: Record<string, unknown>): CsrRequester {
  const r: CsrRequester = {};
  const username = str(spec['username']);
  if (username !== undefined) r.username = username;
  const uid = str(spec['uid']);
  if (uid !== undefined) r.uid = uid;
  if (Array.isArray(spec['groups'])) r.groups = strings(spec['groups']);
  const extra = spec['extra'];
  if (isObject(extra)) {
    r.extra = Object.fromEntries(Object.entries(extra).map(([k, v]) => [k, strings(v)]));
  }
  return r;
}

function conditionsOf(status: Record<string, unknown>): CsrCondition[] {
  const raw = status['conditions'];
  if (!Array.isArray(raw)) return [];
  const out: CsrCondition[] = [];
  for (const c of raw) {
    if (!isObject(c) || typeof c['type'] !== 'string') continue;
    const cond: CsrCondition = { type: c['type'] };
    for (const k of ['status', 'reason', 'message'] as const) {
      const v = str(c[k]);
      if (v !== undefined) cond[k] = v.slice(0, 500);
    }
    out.push(cond);
  }
  return out;
}

/**
 * The CSR as the event's bodies show it: each field from `requestObject` (what the caller sent:
 * a create, an approval, a signer's status write), else from `responseObject` (what a read or the
 * server returned). A body that is a size marker or a patch document contributes what it can.
 */
// Several rules and the history index read the same CSR event; decoding X.509 is the costly
// part of a scan, so each event is decoded once. Views are shared: callers must not mutate them.
export const readCsr: (event: AuditEvent) => CsrView = oncePerEvent((event) => decodeView(event));

function decodeView(event: AuditEvent): CsrView {
  const bodies = [event.requestObject, event.responseObject].filter(isObject);
  const specs = bodies.map((b) => b['spec']).filter(isObject);
  const statuses = bodies.map((b) => b['status']).filter(isObject);
  const pick = <T>(from: Array<Record<string, unknown>>, read: (o: Record<string, unknown>) => T | undefined): T | undefined => {
    for (const o of from) {
      const v = read(o);
      if (v !== undefined) return v;
    }
    return undefined;
  };
  const view: CsrView = {
    usages: pick(specs, (s) => (Array.isArray(s['usages']) ? strings(s['usages']) : undefined)) ?? [],
    requester: pick(specs, (s) => (s['username'] !== undefined || s['groups'] !== undefined ? requesterOf(s) : undefined)) ?? {},
    request: decodeOnce(decodedRequests, pick(specs, (s) => s['request']) ?? bodyMarker(event), decodeCsrRequest),
    conditions: pick(statuses, (s) => {
      const c = conditionsOf(s);
      return c.length > 0 ? c : undefined;
    }) ?? [],
  };
  const signer = pick(specs, (s) => str(s['signerName']));
  if (signer !== undefined) view.signerName = signer;
  const exp = pick(specs, (s) => (typeof s['expirationSeconds'] === 'number' ? s['expirationSeconds'] : undefined));
  if (exp !== undefined) view.expirationSeconds = exp;
  const cert = pick(statuses, (s) => s['certificate']);
  if (cert !== undefined) view.certificate = decodeOnce(decodedCertificates, cert, decodeIssuedCertificate);
  return view;
}

/**
 * A CSR's lifecycle logs the same `spec.request` several times (create, approval, status write,
 * reads) and the same certificate in the status write and later reads; each X.509 decode costs
 * ~0.3 ms, so recent texts are decoded once. Results are shared like views: never mutated.
 */
const DECODED_TEXTS_KEPT = 256;
/** Real requests and chains are a few KiB of base64; bigger (hostile) texts are not kept, bounding the memory. */
const MAX_KEPT_TEXT_CHARS = 16 * 1024;
const decodedRequests = new Map<string, Decoded<DecodedCsr>>();
const decodedCertificates = new Map<string, Decoded<IssuedCertificate>>();

function decodeOnce<T>(cache: Map<string, Decoded<T>>, value: unknown, decode: (v: unknown) => Decoded<T>): Decoded<T> {
  if (typeof value !== 'string' || value.length > MAX_KEPT_TEXT_CHARS) return decode(value);
  let decoded = cache.get(value);
  if (decoded === undefined) {
    decoded = decode(value);
    // Oldest first out: a scan sees each CSR's events within minutes of each other.
    if (cache.size >= DECODED_TEXTS_KEPT) cache.delete(cache.keys().next().value!);
    cache.set(value, decoded);
  }
  return decoded;
}

/** When no body carries a spec, say why: a size marker is not the same as "not logged". */
function bodyMarker(event: AuditEvent): string | undefined {
  return event.requestObject === SKIPPED_BODY_MARKER || event.responseObject === SKIPPED_BODY_MARKER
    ? SKIPPED_BODY_MARKER
    : undefined;
}

/** The approval decision an event carries (`Approved`/`Denied` condition set to True), if any. */
export function decisionOf(view: CsrView): 'Approved' | 'Denied' | undefined {
  for (const c of view.conditions) {
    if ((c.type === 'Approved' || c.type === 'Denied') && (c.status === undefined || c.status === 'True')) return c.type;
  }
  return undefined;
}

/** The credential id of the certificate an event hands out, if it carries a readable one. */
export function issuedCredentialId(event: AuditEvent): string | undefined {
  const cert = readCsr(event).certificate;
  return cert?.ok === true ? cert.value.credentialId : undefined;
}

/** The facts of a CSR a finding reports: signer, usages, and the decoded subject or why it could not be read. */
export function csrFacts(view: CsrView): Record<string, unknown> {
  const facts: Record<string, unknown> = { signerName: view.signerName ?? null, usages: view.usages };
  if (view.expirationSeconds !== undefined) facts['expirationSeconds'] = view.expirationSeconds;
  if (view.request.ok) {
    const r = view.request.value;
    facts['requestedSubject'] = {
      commonNames: r.subject.commonNames,
      organizations: r.subject.organizations,
      ...(r.sans.dns.length + r.sans.ip.length + r.sans.email.length + r.sans.uri.length + r.sans.other.length > 0 ? { sans: r.sans } : {}),
      key: r.publicKey.curve === undefined ? `${r.publicKey.type} ${r.publicKey.bits ?? '?'}` : `${r.publicKey.type} ${r.publicKey.curve}`,
    };
  } else {
    facts['requestProblem'] = view.request.problem;
  }
  return facts;
}

/** Why a cut body may hide what a CSR asks for, per cloud (what each log service does to long entries). */
const CUT_BY: Record<string, string> = {
  eks: 'CloudWatch Logs cut the audit line ([Truncated...])',
  aks: 'Azure Monitor cut properties.log at 16 KiB',
  gke: 'GKE truncated the entry (label audit.k8s.io/truncated)',
  k8s: 'the audit line was cut',
};

export interface CsrBodyLoss {
  /** The CSR fields the cut removed: `signerName`, `usages`, `request` (the requested subject). */
  lost: string[];
  /** Who cut it, in words, for the finding. */
  cutBy: string;
}

/**
 * What a cut audit record hid of a CSR: undefined when the record was whole or every field the
 * CSR rules read survived. A cut record's missing signer or usages are unknown, not absent, so
 * rules must not read them as "not a client certificate".
 */
export function csrBodyLoss(event: AuditEvent, view: CsrView): CsrBodyLoss | undefined {
  if (event.truncated !== true) return undefined;
  const lost: string[] = [];
  if (view.signerName === undefined) lost.push('signerName');
  if (view.usages.length === 0) lost.push('usages');
  if (!view.request.ok) lost.push('request');
  return lost.length === 0 ? undefined : { lost, cutBy: CUT_BY[event.cloud] ?? CUT_BY['k8s']! };
}
