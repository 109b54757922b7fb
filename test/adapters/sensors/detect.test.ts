import { describe, expect, it } from 'vitest';
import { parseAnyLine, parseAnyRecord } from '../../../adapters/file/detect.js';
import { asEks, k8sEvent } from '../../../examples/audit-records.js';
import type { ParseOutcome } from '../../../core/model/parse-result.js';
import type { RuntimeEvent } from '../../../core/model/runtime-event.js';
import {
  asCloudLoggingContainer,
  asContainerLogV2,
  asFluentBitCloudWatch,
  falcoExec,
  falcoOpen,
  falcoRename,
  traceeExec,
  traceeOpen,
  traceeRename,
} from '../../../examples/runtime-records.js';

const O = { source: 'test' };
const KEY = '/var/lib/kubelet/pki/kubelet-client-current.pem';

function one(outcomes: ParseOutcome[]): RuntimeEvent {
  expect(outcomes.map((o) => o.kind)).toEqual(['runtime']);
  return (outcomes[0] as { event: RuntimeEvent }).event;
}

function why(outcomes: ParseOutcome[]): string[] {
  return outcomes.map((o) => (o.kind === 'rejected' ? `rejected ${o.rejection.reason}: ${o.rejection.detail}` : o.kind === 'skipped' ? `skipped ${o.skip.reason}: ${o.skip.detail ?? ''}` : o.kind));
}

describe('tracee parse', () => {
  it('reads a security_file_open with numeric flags in a container', () => {
    const e = one(parseAnyRecord(traceeOpen({ comm: 'cat', argv: ['cat', KEY] }, KEY, 32768), O, { cluster: 'c1' }));
    expect(e).toMatchObject({
      kind: 'runtime', sensor: 'tracee', verb: 'open-read', cloud: 'k8s', cluster: 'c1', time: '2026-03-02T09:00:05.000Z',
      process: { name: 'cat', executable: '/usr/bin/cat', args: [], pid: 41 },
      user: { uid: 0 },
      container: { id: '3f2a9c1b7d4e', name: 'web', image: 'ghcr.io/example/web:1.4.2' },
      pod: 'web-7d4b9c-x2x4p', namespace: 'default', node: 'ip-10-0-1-7.ec2.internal',
      file: { path: KEY, flags: ['O_RDONLY'] }, outcome: 'success', sensorRule: 'security_file_open',
    });
    expect(e.id).toMatch(/^[0-9a-f]{32}$/);
  });

  it('tells write-only and read-write opens apart, numeric or named', () => {
    expect(one(parseAnyRecord(traceeOpen({ comm: 'x' }, '/a', 577), O)).file).toEqual({ path: '/a', flags: ['O_WRONLY', 'O_CREAT', 'O_TRUNC'], accessFrom: 'flags' });
    expect(one(parseAnyRecord(traceeOpen({ comm: 'x' }, '/a', 577), O)).verb).toBe('open-write');
    expect(one(parseAnyRecord(traceeOpen({ comm: 'x' }, '/a', 'O_RDWR|O_CREAT'), O)).verb).toBe('open-read');
    expect(one(parseAnyRecord(traceeOpen({ comm: 'x' }, '/a', 'O_WRONLY'), O)).verb).toBe('open-write');
  });

  it('reads a rename and an exec with its terminal', () => {
    expect(one(parseAnyRecord(traceeRename({ comm: 'mv', container: null }, '/etc/kubernetes/pki/ca.key', '/tmp/ca.key'), O))).toMatchObject({
      verb: 'rename', rename: { from: '/etc/kubernetes/pki/ca.key', to: '/tmp/ca.key' },
    });
    const host = one(parseAnyRecord(traceeRename({ comm: 'mv', container: null }, '/a', '/b'), O));
    expect([host.container, host.pod, host.namespace]).toEqual([undefined, undefined, undefined]);
    const ex = one(parseAnyRecord(traceeExec({ comm: 'awk', argv: ['awk', '1', KEY], tty: true }), O));
    expect(ex).toMatchObject({ verb: 'exec', process: { args: ['awk', '1', KEY], tty: true }, file: { path: '/usr/bin/awk' } });
    expect(one(parseAnyRecord(traceeExec({ comm: 'cat', tty: false }), O)).process.tty).toBe(false);
  });

  it('reads the older top-level container and pod fields', () => {
    const rec = traceeOpen({ comm: 'cat' }, KEY, 0);
    delete rec['container'];
    delete rec['kubernetes'];
    Object.assign(rec, { containerName: 'web', containerImage: 'img:1', podName: 'p', podNamespace: 'ns' });
    expect(one(parseAnyRecord(rec, O))).toMatchObject({ container: { id: '3f2a9c1b7d4e', name: 'web', image: 'img:1' }, pod: 'p', namespace: 'ns' });
  });

  it('skips other events and rejects broken ones with reasons', () => {
    const other = { ...traceeOpen({ comm: 'x' }, '/a', 0), eventName: 'openat' };
    expect(why(parseAnyRecord(other, O))).toEqual(['skipped other-category: tracee event openat is not one credwatch reads']);
    const noFlags = traceeOpen({ comm: 'x' }, '/a', 0);
    noFlags['args'] = [{ name: 'pathname', type: 'const char*', value: '/a' }];
    expect(why(parseAnyRecord(noFlags, O))).toEqual(['rejected missing-field: tracee security_file_open of /a: no flags argument, read or write unknown']);
    expect(why(parseAnyRecord({ ...traceeOpen({ comm: 'x' }, '/a', 0), timestamp: 'soon' }, O))).toEqual(['rejected missing-field: tracee security_file_open: no valid timestamp']);
    expect(why(parseAnyRecord({ ...traceeOpen({ comm: 'x' }, '/a', 0), args: 'x' }, O))).toEqual(['rejected invalid-value: tracee security_file_open: args is not an array']);
  });
});

describe('falco parse', () => {
  it('reads an open alert with flags, parent, tty, user and container', () => {
    const e = one(parseAnyRecord(falcoOpen({ comm: 'cat', argv: ['cat', KEY], tty: true }, KEY, 'O_RDONLY|O_CLOEXEC'), O));
    expect(e).toMatchObject({
      sensor: 'falco', verb: 'open-read', time: '2026-03-02T09:00:05.000000Z',
      process: { name: 'cat', executable: '/usr/bin/cat', args: ['cat', KEY], parent: { name: 'sh' }, tty: true },
      user: { name: 'root', uid: 0 }, container: { id: '3f2a9c1b7d4e', name: 'web', image: 'ghcr.io/example/web:1.4.2' },
      file: { path: KEY, flags: ['O_RDONLY', 'O_CLOEXEC'] }, outcome: 'success', sensorRule: 'credwatch: Kubernetes credential file opened',
    });
    expect(e.id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4/);
  });

  it('treats container.id host as no container, and reads renames and execs', () => {
    const r = one(parseAnyRecord(falcoRename({ comm: 'mv', container: null }, '/etc/kubernetes/pki/ca.key', '/tmp/k'), O));
    expect([r.verb, r.container, r.pod, r.rename]).toEqual(['rename', undefined, undefined, { from: '/etc/kubernetes/pki/ca.key', to: '/tmp/k' }]);
    expect(one(parseAnyRecord(falcoExec({ comm: 'head', argv: ['head', '-n', '3', KEY] }), O)).process.args).toEqual(['head', '-n', '3', KEY]);
  });

  it('keeps a shell -c script together', () => {
    expect(one(parseAnyRecord(falcoExec({ comm: 'sh', argv: ['sh', '-c', 'cat /a | base64'] }), O)).process.args).toEqual(['sh', '-c', 'cat /a | base64']);
  });

  it('skips non-syscall alerts, and alerts about neither a file nor a process', () => {
    const k8s = { ...falcoExec({ comm: 'x' }), source: 'k8s_audit' };
    expect(why(parseAnyRecord(k8s, O))).toEqual(['skipped other-category: falco k8s_audit alert, not a syscall event']);
    const connect = falcoExec({ comm: 'x' });
    (connect['output_fields'] as Record<string, unknown>)['evt.type'] = 'connect';
    expect(why(parseAnyRecord(connect, O))).toEqual(['skipped other-category: falco connect event is not one credwatch reads']);
    const noType = { rule: 'r', time: '2026-03-02T09:00:00Z', output_fields: { 'proc.name': 'x' } };
    expect(why(parseAnyRecord(noType, O))).toEqual(['skipped other-category: falco alert "r": its output fields name no file or process action (no evt.type, fd.name or evt.arg.oldpath)']);
    const network = { rule: 'Contact K8S API Server From Container', time: '2026-03-02T09:00:00Z', output_fields: { 'proc.name': 'curl', 'fd.name': '10.0.0.7:51234->10.96.0.1:443' } };
    expect(why(parseAnyRecord(network, O))).toEqual(['skipped other-category: falco alert "Contact K8S API Server From Container": a stock rule about neither a file open nor an exec']);
    const drop = { rule: 'Falco internal: syscall event drop', priority: 'Debug', time: '2026-03-02T09:00:00Z', output_fields: { n_drops: '12' } };
    expect(why(parseAnyRecord(drop, O))).toEqual(['skipped sensor-internal: falco internal alert "Falco internal: syscall event drop": the sensor\'s own health report, not a process event']);
  });

  it('decides read or write from the flags, then evt.is_open_read, then the stock rule, else a possible read', () => {
    const open = (fields: Record<string, unknown>, rule = 'custom rule') => {
      const rec = falcoOpen({ comm: 'x' }, '/a', 'O_RDONLY');
      const f = rec['output_fields'] as Record<string, unknown>;
      delete f['evt.arg.flags'];
      Object.assign(f, fields);
      const e = one(parseAnyRecord({ ...rec, rule }, O));
      return [e.verb, e.file?.accessFrom];
    };
    expect(open({ 'evt.arg.flags': 'O_WRONLY|O_TRUNC', 'evt.is_open_read': true })).toEqual(['open-write', 'flags']);
    expect(open({ 'evt.is_open_read': false })).toEqual(['open-write', 'sensor-field']);
    expect(open({ 'evt.is_open_read': 'true' })).toEqual(['open-read', 'sensor-field']);
    expect(open({ 'evt.is_open_write': false })).toEqual(['open-read', 'sensor-field']);
    expect(open({}, 'Read sensitive file untrusted')).toEqual(['open-read', 'sensor-rule']);
    expect(open({}, 'Read sensitive file trusted after startup')).toEqual(['open-read', 'sensor-rule']);
    expect(open({}, 'Write below etc')).toEqual(['open-write', 'sensor-rule']);
    expect(open({ 'evt.is_open_write': true }, 'Clear Log Activities')).toEqual(['open-write', 'sensor-rule']);
    expect(open({})).toEqual(['open-read', 'unknown']);
    // A stock exec rule whose output printed no evt.type is still an exec.
    const shell = { rule: 'Terminal shell in container', time: '2026-03-02T09:00:00Z', output_fields: { 'proc.name': 'bash', 'proc.cmdline': 'bash -il' } };
    expect(one(parseAnyRecord(shell, O))).toMatchObject({ verb: 'exec', process: { name: 'bash', args: ['bash', '-il'] } });
  });
});

describe('runtime lines in log-service envelopes', () => {
  it('unwraps Fluent Bit records in CloudWatch messages as eks, node from the record, cluster from the group', () => {
    const cw = asFluentBitCloudWatch(traceeExec({ comm: 'cat', argv: ['cat', KEY] }));
    const e = one(parseAnyRecord(cw, O, { logGroup: '/aws/containerinsights/eks-prod-1/application' }));
    expect([e.cloud, e.cluster, e.node, e.ingestedAt, e.origin.recordId]).toEqual(['eks', 'eks-prod-1', 'ip-10-0-1-7.ec2.internal', '2026-03-02T09:00:07.000Z', cw['eventId']]);
  });

  it('reads a CloudWatch message that is the bare sensor line, and rejects a truncated one', () => {
    const line = falcoExec({ comm: 'cat' });
    const bare = { logStreamName: 'falco', timestamp: 1, message: JSON.stringify(line) };
    expect(one(parseAnyRecord(bare, O)).sensor).toBe('falco');
    const cut = { ...bare, message: JSON.stringify(line).slice(0, 200) + '[Truncated...]' };
    expect(why(parseAnyRecord(cut, O))).toEqual(['rejected truncated: CloudWatch cut a runtime sensor line ([Truncated...])']);
  });

  it('leaves EKS audit events to the audit parser', () => {
    const ev = k8sEvent({ verb: 'get', user: 'u', resource: 'secrets', namespace: 'n', name: 's' });
    expect(parseAnyRecord(asEks(ev), O, { cluster: 'c' }).map((o) => o.kind)).toEqual(['event']);
  });

  it('reads Cloud Logging container entries (jsonPayload and textPayload) as gke', () => {
    const j = one(parseAnyRecord(asCloudLoggingContainer(falcoOpen({ comm: 'cat' }, KEY, 'O_RDONLY')), O));
    expect([j.cloud, j.cluster, j.node, j.ingestedAt]).toEqual(['gke', 'gke-prod-1', 'gke-prod-1-default-pool-5c1e2f3a-x7k9', '2026-03-02T09:00:08.000Z']);
    const t = one(parseAnyRecord(asCloudLoggingContainer(traceeOpen({ comm: 'cat' }, KEY, 0), { text: true, cluster: 'g2' }), O));
    expect([t.cloud, t.cluster, t.sensor]).toEqual(['gke', 'g2', 'tracee']);
  });

  it('reads ContainerLogV2 rows (object or string LogMessage) as aks, and rejects other containers\' rows', () => {
    const o = one(parseAnyRecord(asContainerLogV2(traceeExec({ comm: 'cat' })), O));
    expect([o.cloud, o.cluster, o.node]).toEqual(['aks', 'aks-prod-1', 'aks-nodepool1-31718369-vmss000002']);
    expect(one(parseAnyRecord(asContainerLogV2(falcoExec({ comm: 'cat' }), { asString: true }), O)).sensor).toBe('falco');
    const nginx = { ...asContainerLogV2(falcoExec({ comm: 'cat' })), ContainerName: 'nginx', LogMessage: '10.0.0.1 - - "GET / HTTP/1.1" 200' };
    expect(why(parseAnyRecord(nginx, O))).toEqual(['rejected unknown-shape: ContainerLogV2 row of container nginx: LogMessage is not a Tracee event or a Falco alert']);
  });

  it('reads sensor lines from a JSONL file line, bare or as Fluent Bit wrote them', () => {
    expect(one(parseAnyLine(JSON.stringify(traceeOpen({ comm: 'cat' }, KEY, 0)), O)).verb).toBe('open-read');
    const fb = JSON.stringify({ log: JSON.stringify(falcoExec({ comm: 'cat' })) + '\n', stream: 'stdout', kubernetes: { host: 'n1' } });
    expect(one(parseAnyLine(fb, O)).node).toBe('n1');
  });
});
