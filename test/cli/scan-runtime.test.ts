import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { k8sEvent } from '../../examples/audit-records.js';
import { falcoOpen, traceeExec, traceeOpen } from '../../examples/runtime-records.js';
import k8sPkiFileRead from '../../rules/k8s-pki-file-read.js';
import kubeletPkiReadInContainer from '../../rules/kubelet-pki-read-in-container.js';
import { cli } from './cli-harness.js';

const KEY = '/var/lib/kubelet/pki/kubelet-client-current.pem';
const deps = { rules: [k8sPkiFileRead, kubeletPkiReadInContainer] };

describe('credwatch scan on runtime sensor files', () => {
  it('reads Tracee and Falco JSONL beside an audit file and names the exec user', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'credwatch-runtime-'));
    const sensor = join(dir, 'a-tracee.jsonl');
    const audit = join(dir, 'b-audit.jsonl');
    // The sensor file is read first: the read waits for the exec in the second file.
    writeFileSync(sensor, [
      JSON.stringify(traceeExec({ comm: 'cat', argv: ['cat', KEY], tty: true })),
      JSON.stringify(traceeOpen({ comm: 'kubelet', exe: '/usr/bin/kubelet', container: null }, KEY, 0)),
      JSON.stringify(falcoOpen({ comm: 'exfil', exe: '/tmp/exfil', container: null }, '/etc/kubernetes/pki/ca.key', 'O_RDONLY')),
      'not json',
    ].join('\n') + '\n');
    writeFileSync(audit, JSON.stringify(k8sEvent({ verb: 'create', user: 'alice@example.com', resource: 'pods', subresource: 'exec', namespace: 'default', name: 'web-7d4b9c-x2x4p', query: [['command', 'sh'], ['container', 'web']] })) + '\n');
    const r = await cli(['scan', dir, '--cluster', 'kubeadm-1', '--format', 'jsonl'], deps);
    const alerts = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as { rule: string; severity: string; event: { user: { name?: string }; verb: string } });
    expect(alerts.map((a) => [a.rule, a.severity, a.event.verb, a.event.user.name])).toEqual([
      ['k8s-pki-file-read', 'critical', 'open-read', 'root'],
      ['kubelet-pki-read-in-container', 'critical', 'exec', 'alice@example.com'],
    ]);
    expect(r.stderr).toContain('malformed-json');
  });
});
