import { once } from 'node:events';
import { createWriteStream } from 'node:fs';
import { k8sEvent, type K8sEventInit } from '../examples/audit-records.js';
import { render as renderLine } from './generate.js';
import { attackMaterial, attacks } from '../scripts/demo/attacks.js';
import { APP_UA, DEMO_CLUSTERS, KCM_SHARED_UA, KUBECTL, KUBELET_UA, SCHEDULER_UA, type DemoCluster, type DemoNode } from '../scripts/demo/clusters.js';
import { Prng } from '../scripts/demo/prng.js';
import { collectingContext, type TimedEvent } from '../scripts/demo/traffic-context.js';

/**
 * The API traffic of a real cluster of a given size, for the whole-process benchmark: who calls
 * the API server how often, per node, per pod or per cluster, each rate with where it comes from.
 * Leases, status updates and watch renewals are nearly all of it; credential-relevant requests are
 * a thin tail, and the attack stories of the demo play once in each cluster.
 *
 * Rates per hour. "doc" rates are Kubernetes defaults from the cited page; "assumed" rates are a
 * busy production cluster's, stated as such.
 */
export interface TrafficRate {
  what: string;
  per: 'node' | 'pod' | 'cluster';
  perHour: number;
  /** Audit log lines per request: watches are logged when the response starts and when it ends. */
  lines: 1 | 2;
  source: string;
  make(c: ClusterModel, i: number): K8sEventInit;
}

/** Pods per node: the default kubelet maxPods is 110; busy clusters run about a quarter of that. */
export const PODS_PER_NODE = 30;
/** A client-go watch lasts minWatchTimeout (5 min) times a random factor in [1, 2): 7.5 a reflector-hour on average. */
const WATCHES_PER_HOUR = 60 / 7.5;
const REFLECTOR = 'client-go reflector: watch timeout minWatchTimeout (5m) × random [1, 2) — https://github.com/kubernetes/client-go/blob/master/tools/cache/reflector.go';

export interface ClusterModel {
  cluster: DemoCluster;
  nodes: DemoNode[];
  rng: Prng;
}

const node = (c: ClusterModel, i: number): DemoNode => c.nodes[i % c.nodes.length]!;
const kubelet = (c: ClusterModel, i: number) => {
  const n = node(c, i);
  return { user: `system:node:${n.name}`, groups: ['system:nodes', 'system:authenticated'], userAgent: KUBELET_UA, sourceIPs: [n.ip] };
};
const ns = (c: ClusterModel, i: number): string => (i % 5 === 0 ? 'kube-system' : c.cluster.apps[i % c.cluster.apps.length]!);
const kcm = (c: ClusterModel) => ({ user: 'system:kube-controller-manager', userAgent: KCM_SHARED_UA, sourceIPs: [c.cluster.apiServerIp] });
/** A watch as client-go sends it: its own selectors, then the watch parameters. */
const watch = (init: Omit<K8sEventInit, 'verb'>): K8sEventInit => ({
  ...init,
  verb: 'watch',
  query: [['allowWatchBookmarks', 'true'], ...(init.query ?? []), ['timeoutSeconds', '420'], ['watch', 'true']],
});

export const TRAFFIC_RATES: readonly TrafficRate[] = Object.freeze([
  {
    what: 'kubelet renews its node Lease',
    per: 'node',
    perHour: 360,
    lines: 1,
    source: 'doc: every 10 s — https://kubernetes.io/docs/concepts/architecture/nodes/#node-heartbeats',
    make: (c, i) => ({ ...kubelet(c, i), verb: 'update', resource: 'leases', apiGroup: 'coordination.k8s.io', namespace: 'kube-node-lease', name: node(c, i).name, code: 200 }),
  },
  {
    what: 'kubelet reads its Node and patches its status',
    per: 'node',
    perHour: 24,
    lines: 1,
    source: 'doc: nodeStatusReportFrequency 5m (a get and a patch each time) — https://kubernetes.io/docs/reference/config-api/kubelet-config.v1beta1/',
    make: (c, i) =>
      i % 2 === 0
        ? { ...kubelet(c, i), verb: 'get', resource: 'nodes', name: node(c, i).name }
        : { ...kubelet(c, i), verb: 'patch', resource: 'nodes', subresource: 'status', name: node(c, i).name },
  },
  {
    what: 'kubelet watches each Secret and ConfigMap its pods mount, by name, one watch an object a node',
    per: 'node',
    perHour: 20 * WATCHES_PER_HOUR,
    lines: 2,
    // The API server logs a single-name watch with the name in objectRef (requestinfo.go takes it from the selector).
    source: `doc: configMapAndSecretChangeDetectionStrategy Watch, one watch per referenced object (kubelet config); assumed: 20 objects a node (kube-root-ca.crt per namespace, app config and secrets); ${REFLECTOR}`,
    make: (c, i) => watch({ ...kubelet(c, i), resource: i % 2 === 0 ? 'secrets' : 'configmaps', namespace: ns(c, i), name: `cfg-${i % 97}`, query: [['fieldSelector', `metadata.name=cfg-${i % 97}`]] }),
  },
  {
    what: 'kubelet watches its pods, its Node, Services, CSIDrivers and RuntimeClasses',
    per: 'node',
    perHour: 5 * WATCHES_PER_HOUR,
    lines: 2,
    source: REFLECTOR,
    make: (c, i) => watch({ ...kubelet(c, i), resource: ['pods', 'nodes', 'services', 'csidrivers', 'runtimeclasses'][i % 5]!, ...(i % 5 === 3 ? { apiGroup: 'storage.k8s.io' } : i % 5 === 4 ? { apiGroup: 'node.k8s.io' } : {}) }),
  },
  {
    what: 'kubelet requests a bound service-account token for each pod',
    per: 'pod',
    perHour: 1.25,
    lines: 1,
    source: 'doc: refreshed at 80 % of its 1 h lifetime — https://kubernetes.io/docs/concepts/storage/projected-volumes/#serviceaccounttoken',
    make: (c, i) => ({ ...kubelet(c, i), verb: 'create', resource: 'serviceaccounts', subresource: 'token', namespace: ns(c, i), name: 'default', code: 201 }),
  },
  {
    what: 'kubelet patches pod status (probes, restarts, rollouts)',
    per: 'pod',
    perHour: 0.5,
    lines: 1,
    source: 'assumed: each pod changes state every two hours',
    make: (c, i) => ({ ...kubelet(c, i), verb: 'patch', resource: 'pods', subresource: 'status', namespace: ns(c, i), name: `app-${i % 997}` }),
  },
  {
    what: 'kubelets and controllers record Events',
    per: 'pod',
    perHour: 1,
    lines: 1,
    source: 'assumed: two Events a pod state change',
    make: (c, i) => ({ ...(i % 2 === 0 ? kubelet(c, i) : kcm(c)), verb: 'create', resource: 'events', namespace: ns(c, i), code: 201 }),
  },
  {
    what: 'endpointslice controller updates slices after pod changes',
    per: 'pod',
    perHour: 0.5,
    lines: 1,
    source: 'assumed: one update a pod state change',
    make: (c, i) => ({ ...kcm(c), user: 'system:serviceaccount:kube-system:endpointslice-controller', verb: 'update', resource: 'endpointslices', apiGroup: 'discovery.k8s.io', namespace: ns(c, i), name: `svc-${i % 41}` }),
  },
  {
    what: 'kube-proxy watches EndpointSlices, Services and its Node',
    per: 'node',
    perHour: 3 * WATCHES_PER_HOUR,
    lines: 2,
    source: REFLECTOR,
    make: (c, i) =>
      watch({ user: 'system:serviceaccount:kube-system:kube-proxy', groups: ['system:serviceaccounts', 'system:authenticated'], userAgent: 'kube-proxy/v1.30.4 (linux/amd64) kubernetes/a51b3b7', sourceIPs: [node(c, i).ip], resource: ['endpointslices', 'services', 'nodes'][i % 3]!, ...(i % 3 === 0 ? { apiGroup: 'discovery.k8s.io' } : {}) }),
  },
  {
    what: 'kube-controller-manager, kube-scheduler and cloud-controller-manager renew their leader Leases (get + update)',
    per: 'cluster',
    perHour: 3 * 2 * 1800,
    lines: 1,
    source: 'doc: leader-elect-retry-period 2s — https://kubernetes.io/docs/reference/command-line-tools-reference/kube-controller-manager/',
    make: (c, i) => {
      const who = ['kube-controller-manager', 'kube-scheduler', 'cloud-controller-manager'][i % 3]!;
      return { user: `system:${who}`, userAgent: i % 3 === 1 ? SCHEDULER_UA : `${who}/v1.30.4 (linux/amd64) kubernetes/a51b3b7/leader-election`, sourceIPs: [c.cluster.apiServerIp], verb: i % 2 === 0 ? 'get' : 'update', resource: 'leases', apiGroup: 'coordination.k8s.io', namespace: 'kube-system', name: who };
    },
  },
  {
    what: 'five in-cluster operators renew their leader Leases (get + update)',
    per: 'cluster',
    perHour: 5 * 2 * 1800,
    lines: 1,
    source: 'assumed: five operators (ingress, cert-manager, autoscaler, CNI, storage) on the client-go leader-election defaults (retry 2s)',
    make: (c, i) => ({ user: `system:serviceaccount:kube-system:operator-${i % 5}`, groups: ['system:serviceaccounts', 'system:authenticated'], userAgent: APP_UA, sourceIPs: [node(c, i).ip], verb: i % 2 === 0 ? 'get' : 'update', resource: 'leases', apiGroup: 'coordination.k8s.io', namespace: 'kube-system', name: `operator-${i % 5}` }),
  },
  {
    what: "controllers' informers re-watch about 40 resource types",
    per: 'cluster',
    perHour: 40 * WATCHES_PER_HOUR,
    lines: 2,
    source: REFLECTOR,
    make: (c, i) => watch({ ...kcm(c), resource: ['pods', 'secrets', 'configmaps', 'deployments', 'replicasets', 'nodes', 'serviceaccounts', 'endpointslices'][i % 8]!, ...(i % 8 === 3 || i % 8 === 4 ? { apiGroup: 'apps' } : i % 8 === 7 ? { apiGroup: 'discovery.k8s.io' } : {}) }),
  },
  {
    what: 'webhooks and metrics-server delegate authentication and authorisation (TokenReview, SubjectAccessReview)',
    per: 'cluster',
    perHour: 3600,
    lines: 1,
    source: 'assumed: one review a second (metrics scrapes every 15–60 s by several scrapers)',
    make: (c, i) => ({ user: 'system:serviceaccount:kube-system:metrics-server', groups: ['system:serviceaccounts', 'system:authenticated'], userAgent: APP_UA, sourceIPs: [node(c, i).ip], verb: 'create', resource: i % 2 === 0 ? 'tokenreviews' : 'subjectaccessreviews', apiGroup: i % 2 === 0 ? 'authentication.k8s.io' : 'authorization.k8s.io', code: 201 }),
  },
  {
    what: 'people run kubectl get/list/describe',
    per: 'cluster',
    perHour: 300,
    lines: 1,
    source: 'assumed: five engineers, one command a minute each',
    make: (c, i) => {
      const p = c.cluster.people[i % c.cluster.people.length]!;
      return { user: p.name, ...(p.groups === undefined ? {} : { groups: p.groups }), ...(p.extra === undefined ? {} : { extra: p.extra }), userAgent: KUBECTL, sourceIPs: [p.ip], verb: i % 3 === 0 ? 'list' : 'get', resource: ['pods', 'deployments', 'services', 'events'][i % 4]!, ...(i % 4 === 1 ? { apiGroup: 'apps' } : {}), namespace: ns(c, i) };
    },
  },
  {
    what: 'people exec into pods',
    per: 'cluster',
    perHour: 4,
    lines: 1,
    source: 'assumed: a few debugging sessions an hour',
    make: (c, i) => {
      const p = c.cluster.people[i % c.cluster.people.length]!;
      return { user: p.name, userAgent: KUBECTL, sourceIPs: [p.ip], verb: 'create', resource: 'pods', subresource: 'exec', namespace: ns(c, i), name: `app-${i % 997}`, query: [['command', 'sh'], ['container', 'app'], ['stdin', 'true'], ['tty', 'true']], code: 101 };
    },
  },
  {
    what: 'kubelet client certificate rotation and node replacement CSRs',
    per: 'node',
    perHour: 0.005,
    lines: 1,
    source: 'assumed: a tenth of the nodes replaced a day (autoscaling, upgrades), each with one client and one serving CSR',
    make: (c, i) => ({ ...kubelet(c, i), verb: 'create', resource: 'certificatesigningrequests', apiGroup: 'certificates.k8s.io', name: `csr-${c.rng.hex(5)}`, code: 201 }),
  },
]);

/** Lines an hour in one cluster of `nodes` nodes. */
export function linesPerHour(nodes: number): number {
  return TRAFFIC_RATES.reduce((sum, r) => sum + r.perHour * r.lines * (r.per === 'node' ? nodes : r.per === 'pod' ? nodes * PODS_PER_NODE : 1), 0);
}

function nodesOf(cluster: DemoCluster, count: number): DemoNode[] {
  const out: DemoNode[] = [...cluster.nodes];
  for (let i = out.length; i < count; i++) {
    const ip = `10.${20 + (i >> 16)}.${(i >> 8) & 255}.${i & 255}`;
    out.push({ name: `${cluster.name}-node-${i}`, ip });
  }
  return out;
}

function render(cluster: DemoCluster, init: K8sEventInit, rng: Prng, stage?: string): string {
  return renderLine(cluster, k8sEvent(stage === undefined ? init : { ...init, stage }), rng);
}

export interface ClusterTrafficFile {
  path: string;
  nodes: number;
  minutes: number;
  lines: number;
  bytes: number;
}

const START = Date.parse('2026-03-02T09:00:00.000Z');

/**
 * Writes `minutes` of traffic of three clusters (EKS, AKS and GKE shapes) of `nodes` nodes each,
 * in time order per cluster, with each cluster's attack story once. Streams as it generates.
 */
export async function writeClusterTraffic(path: string, nodes: number, minutes: number, seed = 20_260_302): Promise<ClusterTrafficFile> {
  const material = await attackMaterial(new Date(START));
  const out = createWriteStream(path);
  const result: ClusterTrafficFile = { path, nodes, minutes, lines: 0, bytes: 0 };
  let pending = '';
  const flush = async (force: boolean): Promise<void> => {
    if (!force && pending.length < 1 << 20) return;
    result.bytes += Buffer.byteLength(pending);
    if (!out.write(pending)) await once(out, 'drain');
    pending = '';
  };
  for (const [ci, cluster] of DEMO_CLUSTERS.entries()) {
    const model: ClusterModel = { cluster, nodes: nodesOf(cluster, nodes), rng: new Prng(seed + ci) };
    const story: TimedEvent[] = [];
    attacks(collectingContext(cluster, seed + 100 + ci, START, story), material);
    // The story moved to the first minute, so that short runs hold it too.
    const shift = START + 30_000 - Math.min(...story.map((e) => e.ms));
    for (const e of story) {
      e.ms += shift;
      e.init = { ...e.init, time: new Date(e.ms).toISOString().replace('Z', '000Z') };
    }
    const counters = TRAFFIC_RATES.map(() => 0);
    for (let minute = 0; minute < minutes; minute++) {
      const batch: Array<{ ms: number; line: () => string[] }> = [];
      for (const [ri, rate] of TRAFFIC_RATES.entries()) {
        const scale = rate.per === 'node' ? nodes : rate.per === 'pod' ? nodes * PODS_PER_NODE : 1;
        const expected = (rate.perHour * scale) / 60;
        // Whole requests a minute, the fraction carried by chance so low rates still occur.
        const n = Math.floor(expected) + (model.rng.chance(expected - Math.floor(expected)) ? 1 : 0);
        for (let k = 0; k < n; k++) {
          const i = counters[ri]!++;
          const ms = START + minute * 60_000 + model.rng.int(60_000);
          const init = { ...rate.make(model, i), time: new Date(ms).toISOString().replace('Z', '000Z'), auditID: model.rng.uuid() };
          batch.push({ ms, line: () => (rate.lines === 2 ? [render(cluster, init, model.rng, 'ResponseStarted'), render(cluster, init, model.rng)] : [render(cluster, init, model.rng)]) });
        }
      }
      for (const e of story) if (e.ms >= START + minute * 60_000 && e.ms < START + (minute + 1) * 60_000) batch.push({ ms: e.ms, line: () => [render(cluster, e.init, model.rng)] });
      batch.sort((a, b) => a.ms - b.ms);
      for (const b of batch) {
        for (const l of b.line()) {
          pending += `${l}\n`;
          result.lines++;
        }
      }
      await flush(false);
    }
  }
  await flush(true);
  out.end();
  await once(out, 'finish');
  return result;
}
