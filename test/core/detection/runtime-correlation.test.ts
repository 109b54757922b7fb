import { describe, expect, it } from 'vitest';
import { parseAnyRecord } from '../../../adapters/file/detect.js';
import { Engine } from '../../../core/engine/engine.js';
import { asEks, k8sEvent, type K8sEventInit } from '../../../examples/audit-records.js';
import { NO_EXEC_NOTE } from '../../../core/detection/exec-correlation.js';
import { toAlert, type Finding } from '../../../core/model/finding.js';
import { traceeExec } from '../../../examples/runtime-records.js';
import kubeletPkiReadInContainer from '../../../rules/kubelet-pki-read-in-container.js';

const KEY = '/var/lib/kubelet/pki/kubelet-client-current.pem';
const exec = (init: Partial<K8sEventInit> = {}) =>
  asEks(k8sEvent({ verb: 'create', user: 'alice@example.com', resource: 'pods', subresource: 'exec', namespace: 'default', name: 'web-7d4b9c-x2x4p', query: [['command', 'sh'], ['container', 'web']], ...init }));
const read = (time = '2026-03-02T09:00:05.000000Z') => traceeExec({ comm: 'cat', argv: ['cat', KEY], time });

function run(records: unknown[], ruleOptions?: Record<string, unknown>): { streamed: Finding[]; flushed: Finding[] } {
  const engine = new Engine({ rules: [kubeletPkiReadInContainer], ...(ruleOptions === undefined ? {} : { ruleOptions: { 'kubelet-pki-read-in-container': ruleOptions } }) });
  const streamed: Finding[] = [];
  for (const r of records) for (const o of parseAnyRecord(r, { source: 't' }, { cluster: 'c1' })) if (o.kind === 'event' || o.kind === 'runtime') streamed.push(...engine.process(o.event).findings);
  return { streamed, flushed: engine.flush().findings };
}

const execUser = (f: Finding | undefined) => (f?.facts['execBy'] as { user?: string } | null | undefined)?.user ?? null;

describe('runtime exec correlation', () => {
  it('emits a read at once when its exec came first', () => {
    const { streamed, flushed } = run([exec(), read()]);
    expect([streamed.map(execUser), flushed.length]).toEqual([['alice@example.com'], 0]);
  });

  it('holds a read until its exec arrives, then emits it once', () => {
    const { streamed, flushed } = run([read(), exec(), exec({ stage: 'ResponseComplete' })]);
    expect([streamed.map(execUser), flushed.length]).toEqual([['alice@example.com'], 0]);
  });

  it('emits a read with no exec at the end, saying so', () => {
    const { streamed, flushed } = run([read()]);
    expect(streamed).toEqual([]);
    expect(flushed.map((f) => [f.facts['execBy'], f.facts['note']])).toEqual([[null, NO_EXEC_NOTE]]);
  });

  it('does not tie an exec from another namespace, a denied exec, or one outside the window', () => {
    const other = run([exec({ namespace: 'prod' }), read()]);
    const denied = run([exec({ code: 403 }), read()]);
    const old = run([exec({ time: '2026-03-02T08:40:00.000000Z' }), read()]);
    const wide = run([exec({ time: '2026-03-02T08:40:00.000000Z' }), read()], { execWindowSeconds: 3600 });
    expect([other, denied, old].map((r) => [r.streamed.length, r.flushed.map(execUser)])).toEqual([[0, [null]], [0, [null]], [0, [null]]]);
    expect(wide.streamed.map(execUser)).toEqual(['alice@example.com']);
  });

  it('picks the latest exec before the read and lists the other users', () => {
    const { streamed } = run([exec({ user: 'bob@example.com', time: '2026-03-02T08:59:00.000000Z' }), exec(), read()]);
    expect(streamed.map((f) => [execUser(f), f.facts['otherExecUsers']])).toEqual([['alice@example.com', ['bob@example.com']]]);
  });

  it('projects a runtime finding into the alert shape of docs/architecture.md', () => {
    const [f] = run([exec(), read()]).streamed;
    const alert = toAlert(f!);
    expect(alert.event).toMatchObject({
      verb: 'exec',
      user: { name: 'alice@example.com', groups: ['system:authenticated'] },
      sourceIPs: ['203.0.113.24'],
      userAgent: 'kubectl/v1.30.2 (linux/amd64) kubernetes/3968350',
      target: { resource: 'pods', namespace: 'default', name: 'web-7d4b9c-x2x4p' },
      outcome: { result: 'success' },
      runtime: { sensor: 'tracee', processUser: 'uid:0', container: { name: 'web' }, file: { path: '/usr/bin/cat' } },
    });
    expect([alert.cluster, alert.time, alert.id]).toEqual(['c1', '2026-03-02T09:00:05.000Z', f!.key]);
    const lone = toAlert(run([read()]).flushed[0]!);
    expect([lone.event.user, lone.event.sourceIPs, lone.event.userAgent]).toEqual([{ name: 'uid:0' }, [], null]);
  });
});
