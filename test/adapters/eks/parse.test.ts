import { describe, expect, it } from 'vitest';
import { parseEksRecord, parseEksSubscription } from '../../../adapters/eks/parse.js';
import type { AuditEvent } from '../../../core/model/event.js';
import { asEks, asEksSubscription, k8sEvent } from '../../../examples/audit-records.js';
import type { ParseOutcome } from '../../../core/model/parse-result.js';

const origin = { source: 'eks.jsonl', line: 7 };
const big = k8sEvent({
  verb: 'create',
  user: 'system:serviceaccount:ci:deployer',
  extra: { 'authentication.kubernetes.io/pod-name': ['runner-1'], 'authentication.kubernetes.io/credential-id': ['JTI=abc'] },
  resource: 'configmaps',
  namespace: 'ci',
  name: 'huge',
  requestObject: { data: { blob: 'x'.repeat(300) } },
  auditID: 'a1',
});

const event = (o: ParseOutcome): AuditEvent => {
  if (o.kind !== 'event') throw new Error(`expected an audit event, got ${JSON.stringify(o)}`);
  return o.event;
};

describe('eks parse', () => {
  it('reads a CloudWatch log event with ingestion time, record id and auth', () => {
    const rec = asEks(big, { delayMs: 4_000 });
    const e = event(parseEksRecord(rec, origin, { logGroup: '/aws/eks/prod-1/cluster' }));
    expect([e.cloud, e.cluster, e.id, e.ingestedAt, e.origin]).toEqual(['eks', 'prod-1', 'a1', '2026-03-02T09:00:04.000Z', { ...origin, recordId: rec['eventId'] }]);
    expect(e.auth).toEqual({ method: 'serviceaccount-token', credentialId: 'JTI=abc', podName: 'runner-1' });
    expect(e.truncated).toBe(false);
  });

  it('formats ingestion times exactly as Date#toISOString, record after record', () => {
    // Consecutive records share their second (the formatter reuses it), then cross seconds, days,
    // the epoch, year 10000, fractions and the edge of what a Date can hold.
    const times = [1_772_442_004_000, 1_772_442_004_007, 1_772_442_004_099, 1_772_442_004_999, 1_772_442_005_000, 1_772_409_599_999, 1_772_409_600_000, 0, -1, -999, -1_000, -1_001, 1_772_442_004_321.9, -1.5, 253_402_300_800_000, 8.64e15, -8.64e15];
    for (const ms of times) {
      const rec = { ...asEks(big), ingestionTime: ms };
      expect([ms, event(parseEksRecord(rec, origin)).ingestedAt]).toEqual([ms, new Date(ms).toISOString()]);
    }
    // Past what a Date holds the record is refused as before (the parser's RangeError).
    expect(() => parseEksRecord({ ...asEks(big), ingestionTime: 8.64e15 + 1_000 }, origin)).toThrow(RangeError);
  });

  it('formats ingestion times over the whole Date range exactly as Date#toISOString', () => {
    // Day by day the formatter changes only the date; years 0 and -1, and a deterministic sweep.
    const times = [-62_167_219_200_000, -62_167_219_200_001, -62_167_219_199_999, 86_399_999, 86_400_000, -86_400_000, -86_400_001];
    let x = 12345;
    for (let i = 0; i < 3000; i++) {
      x = (x * 1103515245 + 12345) % 2147483648;
      const span = i % 3 === 0 ? 8.64e15 : i % 3 === 1 ? 4e12 : 2e9;
      times.push(Math.round(((x / 2147483648) * 2 - 1) * span) + (i % 3 === 2 ? 1_772_409_600_000 : 0));
    }
    const got = times.map((ms) => event(parseEksRecord({ ...asEks(big), ingestionTime: ms }, origin)).ingestedAt);
    expect(got).toEqual(times.map((ms) => new Date(ms).toISOString()));
  });

  it('skips other streams of the log group', () => {
    const klog = { logStreamName: 'kube-apiserver-4f1c', timestamp: 1, ingestionTime: 2, message: 'I0302 09:00:00 1 x.go:1] hi', eventId: '9' };
    expect(parseEksRecord(klog, origin)).toEqual({ kind: 'skipped', skip: { origin: { ...origin, recordId: '9' }, reason: 'not-audit', detail: 'log stream kube-apiserver-4f1c' } });
    const auth = { ...klog, logStreamName: 'authenticator-4f1c' };
    expect(parseEksRecord(auth, origin).kind).toBe('skipped');
  });

  it('salvages a [Truncated...] message whose prefix names verb, user and target, timed by the envelope', () => {
    const rec = asEks(big);
    const msg = rec['message'] as string;
    const cut = { ...rec, message: `${msg.slice(0, msg.indexOf('"requestObject"') + 50)}[Truncated...]` };
    const e = event(parseEksRecord(cut, origin));
    expect([e.truncated, e.verb, e.user.name, e.target.name, e.time, e.requestObject, e.outcome.code]).toEqual([
      true,
      'create',
      'system:serviceaccount:ci:deployer',
      'huge',
      '2026-03-02T09:00:00.000Z',
      undefined,
      201,
    ]);
  });

  it('rejects a [Truncated...] message cut before the target', () => {
    const rec = asEks(big);
    const msg = rec['message'] as string;
    const cut = { ...rec, message: `${msg.slice(0, msg.indexOf('"objectRef"') + 25)}[Truncated...]` };
    const out = parseEksRecord(cut, origin);
    expect(out.kind === 'rejected' && [out.rejection.reason, out.rejection.detail]).toEqual(['truncated', expect.stringMatching(/lacks target$/)]);
  });

  it('rejects a message that is not JSON in the audit stream', () => {
    const rec = { ...asEks(big), message: '{"kind":"Event", oops' };
    const out = parseEksRecord(rec, origin);
    expect(out.kind === 'rejected' && out.rejection.reason).toBe('malformed-json');
  });

  it('reads subscription payloads and skips control messages', () => {
    const payload = asEksSubscription([big], 'blue');
    const out = parseEksSubscription(payload, origin);
    expect(out.map((o) => [event(o).cluster, event(o).origin.index])).toEqual([['blue', 0]]);
    expect(parseEksSubscription({ messageType: 'CONTROL_MESSAGE', logEvents: [] }, origin)).toEqual([
      { kind: 'skipped', skip: { origin, reason: 'control-message', detail: 'CloudWatch reachability probe' } },
    ]);
  });

  it('decodes + as a space and keeps repeated query keys in order', () => {
    const exec = k8sEvent({
      verb: 'create',
      user: 'bob',
      resource: 'pods',
      subresource: 'exec',
      namespace: 'n',
      name: 'p',
      requestURI: '/api/v1/namespaces/n/pods/p/exec?command=sh&command=-c&command=cat+%2Fetc%2Fkubernetes%2Fpki%2Fca.key&container=c&stdout=true',
    });
    const e = event(parseEksRecord(asEks(exec), origin));
    expect(e.query).toEqual([
      ['command', 'sh'],
      ['command', '-c'],
      ['command', 'cat /etc/kubernetes/pki/ca.key'],
      ['container', 'c'],
      ['stdout', 'true'],
    ]);
    expect(e.outcome).toEqual({ result: 'success', code: 101 });
  });
});
