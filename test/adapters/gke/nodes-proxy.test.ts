import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseGkeRecord } from '../../../adapters/gke/parse.js';
import { parseResourceName } from '../../../adapters/gke/resource-name.js';
import { Engine } from '../../../core/engine/engine.js';
import type { Finding } from '../../../core/model/finding.js';
import { kubeletProxyPath } from '../../../core/detection/kubelet.js';
import { RULES } from '../../../rules/index.js';

/** A real GKE entry: Prometheus reading cAdvisor metrics through nodes/proxy (Panther's GCP audit-log parser test). */
const realText = readFileSync(new URL('../../fixtures/real/panther/gke-nodes-proxy-cadvisor.jsonl', import.meta.url), 'utf8').trimEnd();
const NODE = 'gke-adx-default-pool-e05a7794-jgln';
/** The real entry with another kubelet path, user and method: its exact shape. */
const variant = (path: string, user = 'system:serviceaccount:default:web', method = 'get') =>
  JSON.parse(
    realText
      .replaceAll('/proxy/metrics/cadvisor', path)
      .replace('system:serviceaccount:monitoring:prometheus-k8s', user)
      .replaceAll('io.k8s.core.v1.nodes.proxy.get', `io.k8s.core.v1.nodes.proxy.${method}`)
      .replaceAll('dc7605e6-1e19-4571-8a7a-d23682efcea1', `id-${path}-${user}`),
  ) as unknown;

function findings(records: unknown[]): Finding[] {
  const engine = new Engine({ rules: RULES });
  const out: Finding[] = [];
  records.forEach((r, index) => {
    const o = parseGkeRecord(r, { source: 'gke', index });
    if (o.kind !== 'event') throw new Error(`not an event: ${JSON.stringify(o)}`);
    out.push(...engine.process(o.event).findings);
  });
  return out;
}

describe('GKE nodes/proxy entries', () => {
  it('parses the real entry into the node target with the kubelet path kept', () => {
    const o = parseGkeRecord(JSON.parse(realText), { source: 'real' });
    expect(o.kind).toBe('event');
    if (o.kind !== 'event') return;
    expect(o.event.target).toEqual({ apiGroup: '', apiVersion: 'v1', resource: 'nodes', name: NODE, subresource: 'proxy' });
    expect(o.event.verb).toBe('get');
    expect(o.event.requestURI).toBe(`/api/v1/nodes/${NODE}/proxy/metrics/cadvisor`);
    expect(kubeletProxyPath(o.event)).toEqual({ node: NODE, path: '/metrics/cadvisor', endpoint: 'metrics' });
  });

  it('keeps pod and service proxy paths too, and a node name with a port', () => {
    expect(parseResourceName('core/v1/namespaces/ns/services/https:web:443/proxy/api/v1/x')).toMatchObject({ target: { resource: 'services', name: 'https:web:443', subresource: 'proxy', namespace: 'ns' }, proxyPath: '/api/v1/x' });
    const o = parseGkeRecord(variant('/proxy/exec/kube-system/agent/c'), { source: 'v' });
    expect(o.kind === 'event' && kubeletProxyPath(o.event)).toEqual({ node: NODE, path: '/exec/kube-system/agent/c', endpoint: 'exec', pod: 'kube-system/agent' });
    const port = JSON.parse(JSON.stringify(variant('/proxy/configz')).replaceAll(`${NODE}/proxy`, `${NODE}:10250/proxy`)) as unknown;
    const p = parseGkeRecord(port, { source: 'v' });
    expect(p.kind === 'event' && kubeletProxyPath(p.event)?.node).toBe(NODE);
  });

  it('raises pki-read-via-node-proxy for kubelet command and sensitive endpoints on GKE, and stays quiet on monitoring scrapes', () => {
    expect(findings([JSON.parse(realText), variant('/proxy/stats/summary'), variant('/proxy/healthz'), variant('/proxy/metrics/resource')])).toEqual([]);
    const hits = findings([
      variant('/proxy/run/default/web/web', 'system:serviceaccount:default:web', 'create'),
      variant('/proxy/exec/default/web/web', 'system:serviceaccount:default:u2'),
      variant('/proxy/attach/default/web/web', 'system:serviceaccount:default:u3'),
      variant('/proxy/portforward/default/web', 'system:serviceaccount:default:u4'),
      variant('/proxy/checkpoint/default/web/web', 'alice@example.com', 'create'),
      variant('/proxy/configz', 'system:serviceaccount:default:u6'),
      variant('/proxy/debug/pprof/profile', 'system:serviceaccount:default:u7'),
      variant('/proxy/logs/syslog', 'system:serviceaccount:default:u8'),
    ]).filter((f) => f.rule === 'pki-read-via-node-proxy');
    expect(hits.map((f) => `${String(f.facts['endpoint'])}:${f.severity}`)).toEqual([
      'run:high', 'exec:high', 'attach:high', 'portforward:high', 'checkpoint:high', 'configz:medium', 'debug:medium', 'logs:medium',
    ]);
    expect(hits[0]!.summary).toContain('the command is not known (GKE logs no query string)');
    expect(hits[0]!.facts['commandUnknown']).toBe(true);
  });
});

describe('GKE entries nested too deep', () => {
  it('rejects an entry without ids whose value overflows serialisation, instead of throwing', () => {
    const entry = JSON.parse(realText) as Record<string, unknown>;
    delete entry['insertId'];
    delete entry['operation'];
    let deep: unknown = 1;
    for (let i = 0; i < 200_000; i++) deep = [deep];
    (entry['protoPayload'] as Record<string, unknown>)['request'] = { deep };
    const o = parseGkeRecord(entry, { source: 'live', page: 1, index: 0 });
    expect(o.kind === 'rejected' && [o.rejection.reason, o.rejection.detail]).toEqual(['too-deep', 'LogEntry nested too deep to serialise']);
  });
});
