import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';
import path from 'node:path';
import protobuf from 'protobufjs';
import { describe, expect, it } from 'vitest';
import { AUDIT_LOG_TYPE_URL, auditLogRoot, decodeAnyPayload, encodeAuditLog } from '../../../adapters/gke/audit-log.js';
import { EntryDecodeError, logEntryToJson } from '../../../adapters/gke/log-entry.js';
import { toWireEntry } from '../../fakes/cloud-logging.js';
import { timeNs } from '../../fakes/logging-query.js';

// The vendored real records (test/fixtures/real/PROVENANCE.md).
const CORPUS = fileURLToPath(new URL('../../fixtures/real', import.meta.url));
const GKE_FILES = [
  'gke-labs-kube-agents/drift-detector-testdata.jsonl',
  'googlecloudplatform-khi/k8s_audit_container_recorder.jsonl',
  'elastic-integrations/gcp_audit_test-audit_k8s-subset.jsonl',
  'elastic-integrations/gcp_audit_test-k8s-nonmatching-resourcename.jsonl',
];

function corpusEntries(): Array<{ where: string; entry: Record<string, unknown> }> {
  return GKE_FILES.flatMap((file) =>
    readFileSync(path.join(CORPUS, file), 'utf8')
      .split('\n')
      .map((line, i) => ({ line, where: `${file}:${i + 1}` }))
      .filter(({ line }) => line.trim() !== '')
      .map(({ line, where }) => ({ where, entry: JSON.parse(line) as Record<string, unknown> }))
      .filter(({ entry }) => (entry['protoPayload'] as Record<string, unknown> | undefined)?.['@type'] === AUDIT_LOG_TYPE_URL),
  );
}

// Wire-format helpers, written out by hand so the field numbers are checked independently of the
// descriptor under test: tag = field << 3 | wire type (0 varint, 2 length-delimited).
const ldelim = (field: number, body: number[]): number[] => [...varint((field << 3) | 2), ...varint(body.length), ...body];
const str = (field: number, s: string): number[] => ldelim(field, [...Buffer.from(s, 'utf8')]);
const vint = (field: number, n: number): number[] => [...varint(field << 3), ...varint(n)];
function varint(n: number): number[] {
  const out: number[] = [];
  while (n > 0x7f) { out.push((n & 0x7f) | 0x80); n >>>= 7; }
  out.push(n);
  return out;
}
/** google.protobuf.Struct with one string member: fields map entry 1 {key 1, value Value{string_value 3}}. */
const struct = (key: string, value: string): number[] => ldelim(1, [...str(1, key), ...ldelim(2, str(3, value))]);

describe('gke AuditLog decode', () => {
  it('decodes hand-encoded wire bytes with the documented field numbers', () => {
    const bytes = [
      ...ldelim(2, [...vint(1, 7), ...str(2, 'forbidden')]), // status: google.rpc.Status{code, message}
      ...ldelim(3, [...str(1, 'system:node:gke-n1'), ...str(8, 'principal://x')]), // authenticationInfo
      ...ldelim(4, [...str(1, '10.0.0.7'), ...str(2, 'kubelet/v1.30')]), // requestMetadata
      ...str(7, 'k8s.io'),
      ...str(8, 'io.k8s.core.v1.secrets.get'),
      ...ldelim(9, [...str(1, 'core/v1/namespaces/a/secrets/s'), ...str(2, 'io.k8s.core.v1.secrets.get'), ...vint(3, 1), ...vint(7, 3)]),
      ...str(11, 'core/v1/namespaces/a/secrets/s'),
      ...vint(12, 3), // numResponseItems (int64)
      ...ldelim(16, struct('@type', 'core.k8s.io/v1.Secret')), // request (Struct)
      ...ldelim(17, struct('kind', 'Status')), // response (Struct)
    ];
    expect(decodeAnyPayload({ type_url: AUDIT_LOG_TYPE_URL, value: Buffer.from(bytes) })).toEqual({
      '@type': AUDIT_LOG_TYPE_URL,
      status: { code: 7, message: 'forbidden' },
      authenticationInfo: { principalEmail: 'system:node:gke-n1', principalSubject: 'principal://x' },
      requestMetadata: { callerIp: '10.0.0.7', callerSuppliedUserAgent: 'kubelet/v1.30' },
      serviceName: 'k8s.io',
      methodName: 'io.k8s.core.v1.secrets.get',
      authorizationInfo: [{ resource: 'core/v1/namespaces/a/secrets/s', permission: 'io.k8s.core.v1.secrets.get', granted: true, permissionType: 'DATA_READ' }],
      resourceName: 'core/v1/namespaces/a/secrets/s',
      numResponseItems: '3',
      request: { '@type': 'core.k8s.io/v1.Secret' },
      response: { kind: 'Status' },
    });
  });

  it('matches the published google.rpc Status and AttributeContext definitions field for field', () => {
    const gaxProtos = path.join(path.dirname(createRequire(import.meta.url).resolve('google-gax')), '../protos');
    const published = new protobuf.Root();
    published.resolvePath = (_origin, target) => (target.startsWith('google/protobuf/') ? target : path.join(gaxProtos, target));
    published.loadSync(['google/rpc/status.proto', 'google/rpc/context/attribute_context.proto'], { keepCase: false });
    published.resolveAll();
    const mine = auditLogRoot();
    const names = ['google.rpc.Status', 'google.rpc.context.AttributeContext', ...['Peer', 'Api', 'Auth', 'Request', 'Response', 'Resource'].map((n) => `google.rpc.context.AttributeContext.${n}`)];
    const shape = (root: protobuf.Root, name: string) =>
      Object.values(root.lookupType(name).fields).map((f) => [f.name, f.id, f.type, f.repeated, f instanceof protobuf.MapField ? f.keyType : null]).sort();
    for (const name of names) expect([name, shape(mine, name)]).toEqual([name, shape(published, name)]);
  });

  it('round-trips every corpus GKE audit payload encoded the way Cloud Logging sends it', () => {
    const entries = corpusEntries();
    expect(entries.length).toBe(18);
    for (const { where, entry } of entries) {
      const wire = toWireEntry(entry);
      // What the gRPC client hands over: the Any with bytes, times as {seconds, nanos}.
      const decoded = logEntryToJson({ ...wire, payload: 'protoPayload' });
      expect([where, decoded['protoPayload']]).toEqual([where, entry['protoPayload']]);
      // Same instants; the fractional digits may be written 0, 3, 6 or 9 wide.
      const at = (v: unknown) => (typeof v === 'string' ? timeNs(v) : v);
      expect([where, at(decoded['timestamp']), at(decoded['receiveTimestamp']), decoded['insertId'], decoded['resource']]).toEqual([
        where, at(entry['timestamp']), at(entry['receiveTimestamp']), entry['insertId'], entry['resource'],
      ]);
    }
  });

  it('reports payloads it cannot decode instead of guessing', () => {
    const truncated = encodeAuditLog({ serviceName: 'k8s.io', methodName: 'io.k8s.core.v1.secrets.get' }).slice(0, 5);
    expect(() => logEntryToJson({ payload: 'protoPayload', protoPayload: { type_url: AUDIT_LOG_TYPE_URL, value: Buffer.from(truncated) } })).toThrow(EntryDecodeError);
    expect(() => logEntryToJson({ payload: 'protoPayload', protoPayload: { type_url: 'type.googleapis.com/google.cloud.Unknown', value: Buffer.from([]) } })).toThrow(/google\.cloud\.Unknown/);
  });
});
