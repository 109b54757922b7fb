import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseAnyRecord } from '../../../adapters/file/detect.js';
import { k8sEvent } from '../../../examples/audit-records.js';
import type { ParseOutcome } from '../../../core/model/parse-result.js';
import type { AnyRule } from '../../../core/model/rule.js';
import type { RuntimeEvent } from '../../../core/model/runtime-event.js';
import { POSSIBLE_READ_NOTE } from '../../../core/detection/runtime-credentials.js';
import k8sPkiFileRead from '../../../rules/k8s-pki-file-read.js';
import kubeletPkiReadInContainer from '../../../rules/kubelet-pki-read-in-container.js';
import { runExample } from '../../helpers/run-example.js';

/**
 * The vendored runtime sensor records (test/fixtures/real, sources in its PROVENANCE.md) and the
 * variants derived from them with only the path or command changed: what each parses to and what
 * the two runtime rules say about it.
 */
const REAL = new URL('../../fixtures/real/', import.meta.url);
const lines = (file: string): unknown[] =>
  readFileSync(new URL(file, REAL), 'utf8').split('\n').filter((l) => l.trim() !== '').map((l) => JSON.parse(l) as unknown);
const outcomes = (file: string): ParseOutcome[] => lines(file).flatMap((r, i) => parseAnyRecord(r, { source: file, line: i + 1 }));
const runtime = (file: string): RuntimeEvent[] => outcomes(file).flatMap((o) => (o.kind === 'runtime' ? [o.event] : []));
const KEY = '/var/lib/kubelet/pki/kubelet-client-current.pem';

function verdict(rule: AnyRule, records: unknown[], cluster?: string) {
  const r = runExample(rule, { name: 'real', expect: null, records, ...(cluster === undefined ? {} : { cluster }) });
  expect(r.problems).toEqual([]);
  return r.findings;
}
const top = (rule: AnyRule, record: unknown) => verdict(rule, [record]).map((f) => f.severity);

describe('real Falco output (Elastic integration test sample, stock rules)', () => {
  const file = 'elastic-integrations/falco_falco_alerts_test-falco.jsonl';

  it('reads all 17 alerts: 12 opens as reads decided by the stock rule, 5 execs with their command', () => {
    const events = runtime(file);
    expect(events).toHaveLength(17);
    const opens = events.filter((e) => e.file?.path === '/etc/shadow');
    expect(opens.map((e) => [e.verb, e.file?.accessFrom])).toEqual(opens.map(() => ['open-read', 'sensor-rule']));
    expect(opens).toHaveLength(12);
    expect(opens.map((e) => e.outcome)).toEqual(['unknown', 'unknown', 'unknown', 'unknown', 'success', 'failure', 'failure', 'failure', 'failure', 'failure', 'failure', 'failure']);
    const execs = events.filter((e) => e.verb === 'exec');
    expect(execs.map((e) => e.process.args)).toEqual([['login'], ['bash', '-c', 'ls > /dev/null'], ['login'], ['login'], ['bash', '-c', 'ls > /dev/null']]);
    expect(events[11]).toMatchObject({ pod: 'kubernetes-pod-1', namespace: 'kubernetes-ns', container: { id: '84c0b936c919' } });
    expect(events[2]?.container?.image).toBe('falcosecurity/event-generator:0.10.0');
  });

  it('raises nothing: /etc/shadow is not a Kubernetes credential', () => {
    expect(verdict(kubeletPkiReadInContainer, lines(file))).toEqual([]);
    expect(verdict(k8sPkiFileRead, lines(file))).toEqual([]);
  });
});

describe('variants of the real Falco sample on the PKI paths', () => {
  const file = 'derived-variants/falco-elastic-sample-pki-paths.jsonl';
  const rec = lines(file);

  it('"Read sensitive file untrusted" on the kubelet key in a container is critical, read from the rule', () => {
    const [f] = verdict(kubeletPkiReadInContainer, [rec[0]]);
    expect([f?.severity, f?.facts['openAccess'], f?.facts['container']]).toEqual(['critical', 'sensor-rule', 'elastic-package-service-falco-event-generator-1']);
  });

  it('"Read sensitive file trusted after startup" on ca.key is critical for k8s-pki-file-read', () => {
    expect(top(k8sPkiFileRead, rec[1])).toEqual(['critical']);
    expect(top(kubeletPkiReadInContainer, rec[1])).toEqual([]);
  });

  it('the node key through /host, and a cat of the key, are critical; a failed open is medium', () => {
    expect(verdict(kubeletPkiReadInContainer, [rec[2]]).map((f) => [f.severity, f.facts['reads']])).toMatchObject([['critical', [{ hostPrefix: '/host', nodePath: KEY }]]]);
    expect(top(kubeletPkiReadInContainer, rec[4])).toEqual(['critical']);
    expect(verdict(kubeletPkiReadInContainer, [rec[3]]).map((f) => [f.severity, f.facts['outcome']])).toEqual([['medium', 'failure']]);
  });

  it('ties the pod-level alert to the kubectl exec into that pod', () => {
    const exec = k8sEvent({
      verb: 'create', user: 'mallory@example.com', resource: 'pods', subresource: 'exec', namespace: 'kubernetes-ns', name: 'kubernetes-pod-1',
      query: [['command', 'sh'], ['stdin', 'true'], ['tty', 'true']], time: '2024-05-13T13:20:00.000000Z', sourceIPs: ['203.0.113.66'],
    });
    const [f] = verdict(kubeletPkiReadInContainer, [exec, rec[3]]);
    expect(f?.facts['execBy']).toMatchObject({ user: 'mallory@example.com', sourceIPs: ['203.0.113.66'] });
  });
});

describe('real Tracee output (docs, current format) and its variants', () => {
  it('reads the documented events: two opens, one exec, the openat and read events skipped', () => {
    const o = outcomes('aquasecurity-tracee/docs-current-format.jsonl');
    expect(o.map((x) => (x.kind === 'runtime' ? `${x.event.verb} ${x.event.file?.path}` : x.kind === 'skipped' ? `skipped ${x.skip.detail}` : x.kind))).toEqual([
      'skipped tracee event openat is not one credwatch reads',
      'open-read /usr/bin/exa',
      'open-read /usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2',
      'skipped tracee event read is not one credwatch reads',
      'exec /usr/bin/exa',
      'open-read /proc/meminfo',
    ]);
    expect(runtime('aquasecurity-tracee/docs-current-format.jsonl').every((e) => e.container === undefined && e.pod === undefined)).toBe(true);
  });

  it('the same shapes on ca.key and the kubelet key are critical on the node', () => {
    const rec = lines('derived-variants/tracee-docs-pki-paths.jsonl');
    expect(top(k8sPkiFileRead, rec[0])).toEqual(['critical']);
    expect(top(k8sPkiFileRead, rec[1])).toEqual(['critical']);
    // A cat on the node is seen by its security_file_open, not by its exec.
    expect([...top(k8sPkiFileRead, rec[2]), ...top(kubeletPkiReadInContainer, rec[2])]).toEqual([]);
  });
});

describe('Tracee next format (main branch v1beta1.Event)', () => {
  it('reads the documented example: timestamp {seconds, nanos}, thread name, pid and uid wrappers, data str_array', () => {
    const [e] = runtime('aquasecurity-tracee/docs-next-format.jsonl');
    expect(e).toMatchObject({
      sensor: 'tracee', verb: 'exec', time: '2024-11-24T13:20:00.123456789Z', sensorRule: 'sched_process_exec',
      process: { name: 'bash', executable: '/usr/bin/bash', args: ['ls', '-la', '/tmp'], pid: 12345 }, user: { uid: 1000 }, file: { path: '/usr/bin/ls' },
    });
  });

  it('variants in a pod are critical for the kubelet rule, exec and open alike', () => {
    const rec = lines('derived-variants/tracee-next-format.jsonl');
    expect(top(kubeletPkiReadInContainer, rec[0])).toEqual([]); // on the host
    expect(verdict(kubeletPkiReadInContainer, [rec[1]]).map((f) => [f.severity, f.facts['pod'], f.facts['container']])).toEqual([['critical', 'default/test-pod', 'test-container']]);
    expect(verdict(kubeletPkiReadInContainer, [rec[2]]).map((f) => [f.severity, f.facts['operation'], f.facts['openAccess']])).toEqual([['critical', 'open-read', 'flags']]);
  });
});

describe('Elastic Defend for Containers', () => {
  it('skips the integration\'s real sample, a blocked process alert, naming its action', () => {
    expect(outcomes('elastic-integrations/cloud_defend_alerts_sample_event.jsonl').map((o) => (o.kind === 'skipped' ? o.skip.detail : o.kind))).toEqual([
      'cloud_defend process event "blocked" (denied) is not one credwatch reads (file open, process exec)',
    ]);
  });

  it('reads the sample\'s shape as an exec and as a file open, bare and as a search hit: both branches of the Elastic rule', () => {
    const rec = lines('derived-variants/cloud-defend-kubelet-key.jsonl');
    const events = runtime('derived-variants/cloud-defend-kubelet-key.jsonl');
    expect(events.map((e) => [e.sensor, e.verb, e.pod, e.namespace, e.cluster, e.container?.image, e.process.tty])).toEqual([
      ['cloud-defend', 'exec', 'nginx-pod', 'default', 'my_cluster', 'nginx:latest', true],
      ['cloud-defend', 'open-read', 'nginx-pod', 'default', 'my_cluster', 'nginx:latest', true],
      ['cloud-defend', 'open-read', 'nginx-pod', 'default', 'my_cluster', 'nginx:latest', true],
    ]);
    expect(events[2]?.origin.recordId).toBe('Xq3b1Y0BnK9c2mQ0aZ1F');
    expect(top(kubeletPkiReadInContainer, rec[0])).toEqual(['critical']);
    const [open] = verdict(kubeletPkiReadInContainer, [rec[1]]);
    expect([open?.severity, open?.facts['openAccess'], open?.facts['uncertainty'], open?.facts['interactive']]).toEqual(['critical', 'unknown', POSSIBLE_READ_NOTE, true]);
    expect(top(kubeletPkiReadInContainer, rec[2])).toEqual(['critical']);
  });

  it('reads a whole search response, one outcome per hit', () => {
    const rec = lines('derived-variants/cloud-defend-kubelet-key.jsonl');
    const response = { took: 3, timed_out: false, hits: { total: { value: 2, relation: 'eq' }, hits: [rec[2], { _index: 'logs-nginx-default', _id: 'x', _source: { message: 'GET /' } }] } };
    const o = parseAnyRecord(response, { source: 'search.json' });
    expect(o.map((x) => (x.kind === 'rejected' ? `${x.rejection.reason}: ${x.rejection.detail}` : x.kind))).toEqual([
      'runtime',
      'unknown-shape: search hit without a Defend for Containers document in _source',
    ]);
  });
});

describe('Falcosidekick test inputs', () => {
  it('skips the test alert and Falco\'s internal drop alert, each with its reason', () => {
    expect(outcomes('falcosecurity-falcosidekick/outputs-test-inputs.jsonl').map((o) => (o.kind === 'skipped' ? `${o.skip.reason}: ${o.skip.detail}` : o.kind))).toEqual([
      'other-category: falco alert "Test rule": its output fields name no file or process action (no evt.type, fd.name or evt.arg.oldpath)',
      'sensor-internal: falco internal alert "Falco internal: syscall event drop": the sensor\'s own health report, not a process event',
    ]);
  });
});
