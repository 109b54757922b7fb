import { asAks, asGke, k8sEvent, type K8sAuditEventJson } from '../../examples/audit-records.js';
import type { DemoCluster } from './clusters.js';
import type { Prng } from './prng.js';
import type { TimedEvent } from './traffic-context.js';

/**
 * Renders a cluster's events in the shape its cloud delivers them, one JSON value per line:
 * EKS as CloudWatch Logs subscription payloads (they name the log group, hence the cluster), AKS
 * as diagnostic-settings records with the other control-plane categories mixed in, GKE as Cloud
 * Logging LogEntries with a few non-Kubernetes audit entries of the same project.
 */

/** Log events per subscription payload; CloudWatch batches by size and time, tens per payload is typical. */
const EVENTS_PER_PAYLOAD = 40;

function cloudWatchId(ms: number, seq: number): string {
  return `${ms}${String(seq).padStart(12, '0')}`.padEnd(56, '0');
}

export function renderEks(cluster: DemoCluster, events: readonly K8sAuditEventJson[]): string[] {
  const lines: string[] = [];
  for (let i = 0; i < events.length; i += EVENTS_PER_PAYLOAD) {
    const chunk = events.slice(i, i + EVENTS_PER_PAYLOAD);
    lines.push(
      JSON.stringify({
        messageType: 'DATA_MESSAGE',
        owner: '111122223333',
        logGroup: `/aws/eks/${cluster.name}/cluster`,
        logStream: 'kube-apiserver-audit-4f1c2a9e8d7b6c5a4f3e2d1c0b9a8f7e',
        subscriptionFilters: ['credwatch'],
        logEvents: chunk.map((ev, j) => {
          const ms = Date.parse(ev.stageTimestamp);
          return { id: cloudWatchId(ms, i + j), timestamp: ms, message: JSON.stringify(ev) };
        }),
      }),
    );
  }
  return lines;
}

export function renderAks(cluster: DemoCluster, events: readonly K8sAuditEventJson[], rng: Prng): string[] {
  const lines: string[] = [];
  for (const ev of events) {
    lines.push(JSON.stringify(asAks(ev, { cluster: cluster.name, form: 'diagnostic', category: 'kube-audit' })));
    if (rng.chance(0.01)) {
      // kube-apiserver's own klog lines arrive through the same diagnostic setting.
      const base = asAks(ev, { cluster: cluster.name, form: 'diagnostic' });
      lines.push(JSON.stringify({ ...base, category: 'kube-apiserver', properties: { log: `I0302 ${ev.stageTimestamp.slice(11, 26)}       1 controller.go:624] quota admission added evaluator for: leases.coordination.k8s.io\n`, stream: 'stderr', pod: 'kube-apiserver-5d8f7c6b9-x2x4p' } }));
    }
  }
  return lines;
}

export function renderGke(cluster: DemoCluster, events: readonly K8sAuditEventJson[], rng: Prng): string[] {
  const lines: string[] = [];
  for (const ev of events) {
    lines.push(JSON.stringify(asGke(ev, { cluster: cluster.name, project: 'acme-prod', location: 'europe-west1', delayMs: 1_200 + rng.int(4_000) })));
    if (rng.chance(0.005)) {
      // A GKE control-plane operation logged by the container API, not by k8s.io: skipped, counted.
      lines.push(
        JSON.stringify({
          insertId: rng.hex(12),
          logName: 'projects/acme-prod/logs/cloudaudit.googleapis.com%2Factivity',
          protoPayload: {
            '@type': 'type.googleapis.com/google.cloud.audit.AuditLog',
            authenticationInfo: { principalEmail: 'service-123456789012@container-engine-robot.iam.gserviceaccount.com' },
            methodName: 'google.container.internal.ClusterManagerInternal.UpdateClusterInternal',
            resourceName: `projects/acme-prod/zones/europe-west1/clusters/${cluster.name}`,
            serviceName: 'container.googleapis.com',
          },
          receiveTimestamp: ev.stageTimestamp,
          resource: { labels: { cluster_name: cluster.name, location: 'europe-west1', project_id: 'acme-prod' }, type: 'gke_cluster' },
          severity: 'NOTICE',
          timestamp: ev.stageTimestamp,
        }),
      );
    }
  }
  return lines;
}

/** Events in time order as audit.k8s.io Events (stable on ties: generation order). */
export function toAuditEvents(events: readonly TimedEvent[]): K8sAuditEventJson[] {
  return events
    .map((e, i) => ({ e, i }))
    .sort((a, b) => a.e.ms - b.e.ms || a.i - b.i)
    .map(({ e }) => k8sEvent(e.init));
}
