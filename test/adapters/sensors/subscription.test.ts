import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { parseAnyRecord } from '../../../adapters/file/detect.js';
import { asEksSubscription, k8sEvent } from '../../../examples/audit-records.js';
import { asFluentBitCloudWatch, falcoOpen, traceeExec } from '../../../examples/runtime-records.js';

const KEY = '/var/lib/kubelet/pki/kubelet-client-current.pem';

/** What a CloudWatch Logs subscription delivers for the Container Insights group: gzip, base64. */
function subscription(lines: Array<Record<string, unknown>>, extra: string[] = []): Record<string, unknown> {
  const events = lines.map((l) => asFluentBitCloudWatch(l));
  const payload = {
    messageType: 'DATA_MESSAGE',
    owner: '111122223333',
    logGroup: '/aws/containerinsights/prod-eks-1/application',
    logStream: String(events[0]!['logStreamName']),
    subscriptionFilters: ['credwatch-runtime'],
    logEvents: [
      ...events.map((e) => ({ id: String(e['eventId']), timestamp: Number(e['timestamp']), message: String(e['message']) })),
      ...extra.map((message, i) => ({ id: `banner-${i}`, timestamp: 1772442000000, message })),
    ],
  };
  return { awslogs: { data: gzipSync(JSON.stringify(payload)).toString('base64') } };
}

describe('runtime lines in CloudWatch subscription payloads', () => {
  it('hands sensor lines to the runtime parser, with the cluster from the log group and the node from Fluent Bit', () => {
    const record = subscription([
      traceeExec({ comm: 'cat', exe: '/usr/bin/cat', argv: ['cat', KEY], tty: true, time: '2026-03-02T09:01:00.000000Z' }),
      falcoOpen({ comm: 'exfil', exe: '/tmp/exfil', container: null, time: '2026-03-02T09:01:01.000000Z' }, '/etc/kubernetes/pki/ca.key', 'O_RDONLY'),
    ]);
    const out = parseAnyRecord(record, { source: 'lambda' });
    expect(out.map((o) => (o.kind === 'runtime' ? [o.kind, o.event.sensor, o.event.verb, o.event.cloud, o.event.cluster, o.event.node, o.event.origin.index] : [o.kind]))).toEqual([
      ['runtime', 'tracee', 'exec', 'eks', 'prod-eks-1', 'ip-10-0-1-7.ec2.internal', 0],
      ['runtime', 'falco', 'open-read', 'eks', 'prod-eks-1', 'ip-10-0-1-7.ec2.internal', 1],
    ]);
  });

  it('leaves a non-sensor line of the same payload to the audit parser, and audit payloads unchanged', () => {
    const banner = JSON.stringify({ log: 'Tracee is ready', kubernetes: { container_name: 'tracee', host: 'n1' } });
    const mixed = parseAnyRecord(subscription([traceeExec({ comm: 'cat', argv: ['cat', KEY] })], [banner]), { source: 'lambda' });
    expect(mixed.map((o) => o.kind)).toEqual(['runtime', 'skipped']);
    // Exactly what the audit parser says of that line in a payload without sensor lines.
    expect(mixed[1]).toEqual({ kind: 'skipped', skip: { reason: 'not-audit', detail: 'log stream tracee-7xk2p_tracee_tracee-0a1b2c3d4e5f', origin: { source: 'lambda', index: 1, recordId: 'banner-0' } } });

    const audit = asEksSubscription([k8sEvent({ verb: 'get', user: 'alice', resource: 'secrets', namespace: 'a', name: 's', auditID: 'aud-1' })], 'prod-eks-1');
    expect(parseAnyRecord(audit, { source: 'lambda' }).map((o) => (o.kind === 'event' ? [o.kind, o.event.id, o.event.cluster] : [o.kind]))).toEqual([['event', 'aud-1', 'prod-eks-1']]);
  });
});
