import { describe, expect, it } from 'vitest';
import type { AuditEvent } from '../../../core/model/event.js';
import { execCommand, sensitiveReads, tarReads } from '../../../core/detection/exec-command.js';
import { classifyPath, globMatch, nodePathOf } from '../../../core/detection/sensitive-paths.js';

function event(init: Partial<AuditEvent>): AuditEvent {
  return {
    kind: 'audit', id: 'e1', cloud: 'eks', time: '2026-03-02T09:00:00Z', verb: 'create', user: { name: 'alice' },
    auth: { method: 'unknown' }, sourceIPs: [], target: { resource: 'pods', subresource: 'exec' },
    outcome: { result: 'success', code: 101 }, truncated: false, origin: { source: 'test' }, ...init,
  };
}

/** [path, reader, kind, privateKey] per read, the facts the rules report. */
const brief = (argv: string[], hostMountPrefixes?: string[]) =>
  sensitiveReads(argv, hostMountPrefixes === undefined ? {} : { hostMountPrefixes }).map((r) => [r.path, r.reader, r.kind, r.privateKey]);

describe('execCommand', () => {
  it('takes the command parameters in order wherever container= and stdin= sit', () => {
    const query: Array<[string, string]> = [['container', 'c'], ['command', 'cat'], ['stdin', 'true'], ['command', '/etc/x'], ['container', 'c']];
    expect(execCommand(event({ query }))).toEqual({ argv: ['cat', '/etc/x'], source: 'query' });
  });

  it('falls back to requestObject.command and ignores a body without a string array', () => {
    expect(execCommand(event({ requestObject: { command: ['ls', '/'] } }))).toEqual({ argv: ['ls', '/'], source: 'requestObject' });
    expect(execCommand(event({ requestObject: { command: ['ls', 3] } }))).toBeUndefined();
    expect(execCommand(event({ requestObject: null }))).toBeUndefined();
    expect(execCommand(event({ query: [['container', 'c']] }))).toBeUndefined();
  });

  it('prefers the query when both are present', () => {
    expect(execCommand(event({ query: [['command', 'id']], requestObject: { command: ['cat', '/x'] } }))?.argv).toEqual(['id']);
  });
});

describe('sensitiveReads', () => {
  it('finds the kubelet client key read by cat', () => {
    expect(brief(['cat', '/var/lib/kubelet/pki/kubelet-client-current.pem'])).toEqual([
      ['/var/lib/kubelet/pki/kubelet-client-current.pem', 'cat', 'private-key', true],
    ]);
  });

  it('rates a certificate as certificate, not key', () => {
    expect(brief(['openssl', 'x509', '-in', '/etc/kubernetes/pki/ca.crt', '-text'])).toEqual([['/etc/kubernetes/pki/ca.crt', 'openssl', 'certificate', false]]);
  });

  it('reads through sh -c pipelines and names the reader inside the script', () => {
    const reads = sensitiveReads(['sh', '-c', 'cat /etc/kubernetes/pki/ca.key | base64']);
    expect(reads.map((r) => [r.path, r.reader, r.via])).toEqual([['/etc/kubernetes/pki/ca.key', 'cat', ['sh -c']]]);
  });

  it('follows cd, && and input redirection in scripts', () => {
    expect(brief(['bash', '-lc', 'cd /var/lib/kubelet/pki && base64 < kubelet.key; echo done'])).toEqual([['kubelet.key', 'base64', 'private-key', true]]);
    expect(brief(['sh', '-c', 'x=$(< /etc/kubernetes/admin.conf); echo "$x"'])).toEqual([['/etc/kubernetes/admin.conf', 'sh', 'kubeconfig', true]]);
  });

  it('treats kubectl cp out of a pod (tar cf -) as a recursive read', () => {
    expect(brief(['tar', 'cf', '-', '/etc/kubernetes/pki'])).toEqual([['/etc/kubernetes/pki', 'tar', 'directory', true]]);
    expect(brief(['tar', 'cf', '-', '/var/lib/kubelet'])).toEqual([['/var/lib/kubelet', 'tar', 'directory', true]]);
    expect(brief(['sh', '-c', 'tar cf - /var/run/secrets/kubernetes.io/serviceaccount | tail -c+1024'])).toEqual([
      ['/var/run/secrets/kubernetes.io/serviceaccount', 'tar', 'directory', false],
    ]);
  });

  it('ignores tar extraction (kubectl cp into a pod) and shallow recursive copies', () => {
    expect(brief(['tar', 'xmf', '-', '-C', '/etc/kubernetes/pki'])).toEqual([]);
    expect(brief(['tar', 'cf', '-', '/etc'])).toEqual([]);
  });

  it('strips host-mount prefixes, configurable', () => {
    expect(brief(['cat', '/host/var/lib/kubelet/pki/kubelet-client-current.pem'])).toEqual([
      ['/host/var/lib/kubelet/pki/kubelet-client-current.pem', 'cat', 'private-key', true],
    ]);
    expect(sensitiveReads(['cat', '/host/etc/kubernetes/pki/ca.key'])[0]?.hostPrefix).toBe('/host');
    expect(brief(['cat', '/mnt/node/etc/kubernetes/pki/ca.key'])).toEqual([]);
    expect(brief(['cat', '/mnt/node/etc/kubernetes/pki/ca.key'], ['/mnt/node'])).toEqual([['/mnt/node/etc/kubernetes/pki/ca.key', 'cat', 'private-key', true]]);
  });

  it('unwraps chroot, nsenter, sudo and busybox', () => {
    expect(brief(['chroot', '/host', 'cat', '/etc/kubernetes/pki/sa.key']).map((r) => r[3])).toEqual([true]);
    expect(brief(['nsenter', '-t', '1', '-m', '--', 'cat', '/var/lib/kubelet/kubeconfig'])).toEqual([['/var/lib/kubelet/kubeconfig', 'cat', 'kubeconfig', false]]);
    expect(brief(['sudo', '-u', 'root', 'busybox', 'head', '/etc/kubernetes/certs/client.key'])).toEqual([['/etc/kubernetes/certs/client.key', 'head', 'private-key', true]]);
  });

  it('handles dd, cp -r, find -exec and interpreter scripts', () => {
    expect(brief(['dd', 'if=/etc/kubernetes/pki/ca.key', 'bs=1'])).toEqual([['/etc/kubernetes/pki/ca.key', 'dd', 'private-key', true]]);
    expect(brief(['cp', '-r', '/var/lib/kubelet/pki', '/tmp/x'])).toEqual([['/var/lib/kubelet/pki', 'cp', 'directory', true]]);
    expect(brief(['find', '/etc/kubernetes/pki', '-name', '*.key', '-exec', 'cat', '{}', ';'])).toEqual([['/etc/kubernetes/pki', 'cat', 'directory', true]]);
    expect(brief(['python3', '-c', "print(open('/var/run/secrets/kubernetes.io/serviceaccount/token').read())"])).toEqual([
      ['/var/run/secrets/kubernetes.io/serviceaccount/token', 'python3', 'token', false],
    ]);
  });

  it('classifies globs by the files they reach', () => {
    expect(brief(['sh', '-c', 'cat /etc/kubernetes/pki/*.key'])).toEqual([['/etc/kubernetes/pki/*.key', 'cat', 'private-key', true]]);
    expect(brief(['cat', '/etc/kubernetes/pki/*.crt'])).toEqual([['/etc/kubernetes/pki/*.crt', 'cat', 'certificate', false]]);
  });

  it('does not fire on benign commands', () => {
    expect(brief(['cat', '/etc/resolv.conf'])).toEqual([]);
    expect(brief(['ls', '/var/lib/kubelet'])).toEqual([]);
    expect(brief(['ls', '/etc/kubernetes/pki'])).toEqual([]);
    expect(brief(['sh'])).toEqual([]);
    expect(brief(['/bin/bash', '-i'])).toEqual([]);
    expect(brief(['cat', '/var/run/secrets/kubernetes.io/serviceaccount/namespace'])).toEqual([]);
    expect(brief(['sh', '-c', 'echo "unterminated'])).toEqual([]);
    expect(brief(['cat', 'kubelet.key'])).toEqual([]);
  });
});

describe('tarReads', () => {
  it('resolves operands against -C and skips the archive name', () => {
    expect(tarReads(['czf', 'out.tgz', '-C', '/etc/kubernetes', 'pki', 'admin.conf'])).toEqual(['/etc/kubernetes/pki', '/etc/kubernetes/admin.conf']);
    expect(tarReads(['--create', '--file=-', '--directory=/var/lib', 'kubelet'])).toEqual(['/var/lib/kubelet']);
  });
});

describe('sensitive paths', () => {
  it('normalises /run and dot segments', () => {
    expect(nodePathOf('/run/secrets/kubernetes.io/serviceaccount/token')).toEqual({ nodePath: '/var/run/secrets/kubernetes.io/serviceaccount/token' });
    expect(classifyPath('/etc/kubernetes/pki/../admin.conf')?.entry).toBe('kubeadm-admin-kubeconfigs');
    expect(classifyPath('/etc/kubernetes/kubelet.conf')).toMatchObject({ entry: 'node-kubeconfigs', kind: 'kubeconfig', privateKey: false, verified: true });
    expect(classifyPath('/etc/kubernetes/certs/ca.crt')).toMatchObject({ entry: 'aks-node-certs', kind: 'certificate', verified: false });
  });

  it('matches kubelet pod volume tokens below the host prefix', () => {
    expect(classifyPath('/host/var/lib/kubelet/pods/7f/volumes/kubernetes.io~projected/kube-api-access-x/token')).toMatchObject({ kind: 'token', hostPrefix: '/host' });
  });

  it('compiles globs without crossing a slash', () => {
    expect(globMatch('/a/*.key', '/a/b/c.key')).toBe(false);
    expect(globMatch('/a/[!x]*.key', '/a/ca.key')).toBe(true);
    expect(globMatch('/a/[a-c]?.k*y', '/a/ca.key')).toBe(true);
    expect(globMatch('/a/*a*b', '/a/xaxxb')).toBe(true);
    expect(globMatch('/a/*a*b', '/a/xaxxc')).toBe(false);
    expect(globMatch('/a/[x', '/a/[x')).toBe(true);
  });

  it('matches hostile globs in linear time, without a backtracking regex', () => {
    const hostile = `/etc/kubernetes/pki/${'*a'.repeat(200)}b`;
    // Nothing in the table matches the pattern itself; it still reads inside the PKI directory.
    expect(classifyPath(hostile)).toMatchObject({ entry: 'control-plane-pki', kind: 'directory', privateKey: true });
    expect(brief(['cat', `/var/lib/kubelet/pki/${'*'.repeat(5000)}x`]).map((r) => r.slice(1))).toEqual([['cat', 'directory', true]]);
    expect(classifyPath(`/var/log/${'*a'.repeat(200)}b`)).toBeUndefined();
  });
});
