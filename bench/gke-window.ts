import { performance } from 'node:perf_hooks';
import { createGkeSource } from '../adapters/gke/source.js';
import { asGke, k8sEvent, KUBECTL_UA, type K8sEventInit } from '../examples/audit-records.js';
import { unionNeeds } from '../core/model/needs.js';
import { RULES } from '../rules/index.js';
import { FakeCloudLogging, type LogEntryJson } from '../test/fakes/cloud-logging.js';

/**
 * One realistic 6-minute scan window of a busy GKE cluster with Data Access logs on, read through
 * the real `@google-cloud/logging` gRPC client from the Cloud Logging fake with the push-down filter
 * of all rules. `downloadedShare` is the share of the window's k8s.io audit entries the filter lets
 * through; `eventsPerSecond` is downloaded entries decoded and parsed per wall-clock second.
 */

const FROM = Date.parse('2026-03-02T09:00:00Z');
const WINDOW_MS = 6 * 60_000;

// The agent GKE records for the kubelet (a captured entry: `kubelet/v1.35.7 (linux/amd64) kubernetes/532e3c3`).
const KUBELET_UA = 'kubelet/v1.35.7 (linux/amd64) kubernetes/532e3c3';

/** Per minute on a ~20-node cluster: control loops dominate, credential-relevant calls are rare. */
const MIX: ReadonlyArray<[number, (i: number) => K8sEventInit]> = [
  [900, (i) => ({ verb: 'update', user: `system:node:gke-pool-${i % 20}`, userAgent: KUBELET_UA, resource: 'leases', apiGroup: 'coordination.k8s.io', namespace: 'kube-node-lease', name: `gke-pool-${i % 20}` })],
  [400, (i) => ({ verb: 'get', user: 'system:kube-controller-manager', userAgent: 'kube-controller-manager/v1.35.7 (linux/amd64) kubernetes/532e3c3/leader-election', resource: 'configmaps', namespace: 'kube-system', name: `cm-${i % 30}` })],
  [300, (i) => ({ verb: 'watch', user: `system:node:gke-pool-${i % 20}`, userAgent: KUBELET_UA, resource: 'pods', query: [['fieldSelector', `spec.nodeName=gke-pool-${i % 20}`]] })],
  [200, (i) => ({ verb: 'patch', user: `system:node:gke-pool-${i % 20}`, userAgent: KUBELET_UA, resource: 'nodes', subresource: 'status', name: `gke-pool-${i % 20}` })],
  [150, (i) => ({ verb: 'create', user: 'system:serviceaccount:kube-system:event-exporter', userAgent: 'event-exporter/v0.4.0', resource: 'events', namespace: `ns-${i % 10}` })],
  [40, (i) => ({ verb: 'get', user: `system:node:gke-pool-${i % 20}`, userAgent: KUBELET_UA, resource: 'secrets', namespace: `ns-${i % 10}`, name: `app-${i % 7}` })],
  [6, (i) => ({ verb: 'list', user: 'system:serviceaccount:ci:deployer', resource: 'secrets', namespace: `ns-${i % 10}`, userAgent: KUBECTL_UA })],
  [2, (i) => ({ verb: 'create', user: 'alice@example.com', resource: 'pods', subresource: 'exec', namespace: 'ns-1', name: `web-${i}`, query: [['command', 'cat'], ['command', '/etc/kubernetes/pki/ca.key']] })],
  [1, () => ({ verb: 'create', user: 'kubelet-nodepool-bootstrap', resource: 'certificatesigningrequests', apiGroup: 'certificates.k8s.io' })],
];

function windowEntries(): LogEntryJson[] {
  const out: LogEntryJson[] = [];
  let n = 0;
  for (let minute = 0; minute < WINDOW_MS / 60_000; minute++) {
    for (const [perMinute, make] of MIX) {
      for (let i = 0; i < perMinute; i++) {
        const t = FROM + minute * 60_000 + Math.floor((i * 60_000) / perMinute);
        const time = new Date(t).toISOString().replace('Z', '000Z');
        const id = `bench-${n++}`;
        // Most entries arrive within seconds, one in fifty a few minutes late.
        const delayMs = n % 50 === 0 ? 180_000 : 1_500;
        out.push({ ...asGke(k8sEvent({ ...make(i), time, auditID: id }), { project: 'bench-proj', cluster: 'gke-bench', delayMs }), insertId: id });
      }
    }
  }
  return out;
}

export async function runGkeWindowBench(): Promise<{ downloadedShare: number; eventsPerSecond: number; totalEvents: number }> {
  const fake = await FakeCloudLogging.start();
  try {
    const entries = windowEntries();
    fake.add(...entries);
    const window = { from: new Date(FROM), to: new Date(FROM + WINDOW_MS) };
    const inWindow = entries.filter((e) => {
      const r = Date.parse(String(e['receiveTimestamp']));
      return r >= window.from.getTime() && r < window.to.getTime();
    }).length;
    const source = createGkeSource({ projects: ['bench-proj'], endpoint: fake.endpoint, gaxOptions: { maxRetries: 0 } });
    const needs = unionNeeds(RULES);
    let downloaded = 0;
    const start = performance.now();
    for await (const page of source.read(window, { needs })) downloaded += page.outcomes.length;
    const seconds = (performance.now() - start) / 1000;
    return { downloadedShare: inWindow === 0 ? 0 : downloaded / inWindow, eventsPerSecond: downloaded / seconds, totalEvents: inWindow };
  } finally {
    await fake.stop();
  }
}
