import { describe, expect, it } from 'vitest';
import { Engine } from '../../core/engine/engine.js';
import type { AuditEvent } from '../../core/model/event.js';
import { kubeletProxyPath } from '../../core/detection/kubelet.js';
import nodeCredentialOffNode from '../../rules/node-credential-off-node.js';
import { exposesCredentials, hostPathsIn } from '../../rules/pki-host-mount.js';

function event(init: Partial<AuditEvent>): AuditEvent {
  return {
    kind: 'audit', id: 'e1', cloud: 'eks', cluster: 'c1', time: '2026-03-02T09:00:00Z', verb: 'get', user: { name: 'alice' },
    auth: { method: 'unknown' }, sourceIPs: [], target: { resource: 'nodes', subresource: 'proxy', name: 'n1' },
    outcome: { result: 'success', code: 200 }, truncated: false, origin: { source: 'test' }, ...init,
  };
}

describe('kubeletProxyPath', () => {
  it('reads node, endpoint and pod from the proxied URL', () => {
    expect(kubeletProxyPath(event({ requestURI: '/api/v1/nodes/n1:10250/proxy/exec/kube-system/agent-1/c?command=id' }))).toEqual({
      node: 'n1', path: '/exec/kube-system/agent-1/c', endpoint: 'exec', pod: 'kube-system/agent-1',
    });
    expect(kubeletProxyPath(event({ requestURI: '/api/v1/nodes/https:n1:10250/proxy/metrics/cadvisor' }))).toEqual({ node: 'n1', path: '/metrics/cadvisor', endpoint: 'metrics' });
    expect(kubeletProxyPath(event({ requestURI: '/api/v1/nodes/n1/proxy' }))).toEqual({ node: 'n1', path: '/', endpoint: '' });
  });

  it('is undefined without a URI or for other paths', () => {
    expect(kubeletProxyPath(event({}))).toBeUndefined();
    expect(kubeletProxyPath(event({ requestURI: '/api/v1/nodes/n1' }))).toBeUndefined();
  });
});

describe('host mounts', () => {
  it('finds hostPath volumes in pods, templates and JSON patches', () => {
    expect(hostPathsIn({ spec: { template: { spec: { volumes: [{ name: 'a', hostPath: { path: '/var/lib/kubelet' } }, { name: 'b', emptyDir: {} }] } } } })).toEqual([
      { volume: 'a', hostPath: '/var/lib/kubelet' },
    ]);
    expect(hostPathsIn([{ op: 'add', path: '/spec/volumes/-', value: { name: 'r', hostPath: { path: '/' } } }])).toEqual([{ volume: 'r', hostPath: '/' }]);
    expect(hostPathsIn('skipped-too-big-size-object')).toEqual([]);
  });

  it('counts mounts above, at and below the credential directories', () => {
    const dirs = ['/etc/kubernetes', '/var/lib/kubelet'];
    expect(['/', '/etc', '/var/lib', '/etc/kubernetes/', '/var/lib/kubelet/pki', '/etc/kubernetes/../kubernetes'].map((p) => exposesCredentials(p, dirs))).toEqual([true, true, true, true, true, true]);
    expect(['/var/log', '/etc/kubernetes-old', '/var/lib/kubelets', '/opt'].map((p) => exposesCredentials(p, dirs))).toEqual([false, false, false, false]);
  });
});

describe('node-credential-off-node options', () => {
  const kubelet = 'kubelet/v1.30.2 (linux/amd64) kubernetes/3968350';
  /** `ua` null: the request was logged without a user agent. */
  const nodeEvent = (ip: string, ua: string | null = kubelet): AuditEvent =>
    event({ id: ip, user: { name: 'system:node:n1' }, sourceIPs: [ip], ...(ua === null ? {} : { userAgent: ua }), target: { resource: 'pods' }, verb: 'list' });

  it('reports a request without a user agent from outside the configured node networks', () => {
    const engine = new Engine({ rules: [nodeCredentialOffNode], ruleOptions: { 'node-credential-off-node': { nodeNetworks: ['10.0.0.0/16', 'fd00::/8'] } } });
    expect(engine.process(nodeEvent('10.0.4.5', null)).findings).toEqual([]);
    expect(engine.process(nodeEvent('fd00::5', null)).findings).toEqual([]);
    expect(engine.process(nodeEvent('198.51.100.7', null)).findings.map((f) => f.facts['reasons'])).toEqual([['source 198.51.100.7 is outside the node networks']]);
  });

  it('does not see a request with the kubelet user agent, wherever it comes from (outside its needs)', () => {
    const engine = new Engine({ rules: [nodeCredentialOffNode], ruleOptions: { 'node-credential-off-node': { nodeNetworks: ['10.0.0.0/16'] } } });
    expect(engine.process(nodeEvent('198.51.100.7')).findings).toEqual([]);
    expect(engine.process(nodeEvent('198.51.100.8', 'kubelet/anything')).findings).toEqual([]);
  });

  it('accepts extra node user agents and rejects an invalid pattern', () => {
    const engine = new Engine({ rules: [nodeCredentialOffNode] });
    expect(engine.process(nodeEvent('10.0.4.5', 'node-problem-detector/v0.8.19')).findings).toEqual([]);
    expect(engine.process(nodeEvent('10.0.4.6', 'Go-http-client/2.0')).findings.length).toBe(1);
    expect(() => new Engine({ rules: [nodeCredentialOffNode], ruleOptions: { 'node-credential-off-node': { nodeUserAgents: ['('] } } })).toThrow(/nodeUserAgents/);
  });
});
