import type { K8sEventInit } from '../../examples/audit-records.js';
import { APP_UA, CERT_MANAGER_UA, KCM_SHARED_UA, KUBECTL, KUBELET_UA, SCHEDULER_UA, type DemoNode, type Person } from './clusters.js';
import type { TrafficContext } from './traffic-context.js';

/**
 * One minute of a healthy cluster's API traffic: kubelets renewing leases, reading the single
 * Secrets of their pods and reporting pod status; the scheduler and controller manager; cert-manager
 * and app service accounts; people running kubectl, including harmless `kubectl exec` commands.
 */

const LEASES = { resource: 'leases', apiGroup: 'coordination.k8s.io', apiVersion: 'v1' } as const;
const HARMLESS_COMMANDS: readonly string[][] = [
  ['ls', '-la', '/app'],
  ['ps', 'aux'],
  ['df', '-h'],
  ['cat', '/app/config/app.yaml'],
  ['sh', '-c', 'curl -s localhost:8080/healthz'],
  ['date'],
];

const saUser = (ns: string, name: string): string => `system:serviceaccount:${ns}:${name}`;

/** Token claims of a bound service-account token; GKE does not log `user.extra`. */
function boundToken(ctx: TrafficContext, pod: string): Record<string, string[]> | undefined {
  if (ctx.cluster.cloud === 'gke') return undefined;
  return {
    'authentication.kubernetes.io/pod-name': [pod],
    'authentication.kubernetes.io/pod-uid': [`${ctx.rng.hex(8)}-0000-4000-8000-${ctx.rng.hex(12)}`],
    'authentication.kubernetes.io/credential-id': [`JTI=${ctx.rng.uuid()}`],
  };
}

function appPod(ctx: TrafficContext, app: string): string {
  return `${app}-7c9d8f6b5-${ctx.rng.alnum(5)}`;
}

function kubelet(ctx: TrafficContext, node: DemoNode, minuteMs: number): void {
  const base = { user: `system:node:${node.name}`, userAgent: KUBELET_UA, sourceIPs: [node.ip] };
  const at = (): string => ctx.time(minuteMs + ctx.rng.int(60_000));
  // Leases renew every 10 s; two per minute keep the demo small while the pattern stays visible.
  ctx.emit({ ...base, ...LEASES, verb: 'update', namespace: 'kube-node-lease', name: node.name, time: ctx.time(minuteMs + ctx.rng.int(30_000)) });
  ctx.emit({ ...base, ...LEASES, verb: 'update', namespace: 'kube-node-lease', name: node.name, time: ctx.time(minuteMs + 30_000 + ctx.rng.int(30_000)) });
  if (ctx.rng.chance(0.6)) {
    const app = ctx.rng.pick(ctx.cluster.apps);
    ctx.emit({ ...base, verb: 'patch', resource: 'pods', subresource: 'status', namespace: app, name: appPod(ctx, app), time: at() });
  }
  if (ctx.rng.chance(0.15)) {
    // The Node authorizer's normal path: one named Secret of a pod bound to this node.
    const app = ctx.rng.pick(ctx.cluster.apps);
    const secret = `${app}-${ctx.rng.pick(['db-credentials', 'tls', 'api-token'])}`;
    if (ctx.cluster.cloud === 'gke' || ctx.rng.chance(0.5)) {
      ctx.emit({ ...base, verb: 'get', resource: 'secrets', namespace: app, name: secret, time: at() });
    } else {
      ctx.emit({
        ...base,
        verb: 'watch',
        resource: 'secrets',
        namespace: app,
        query: [['allowWatchBookmarks', 'true'], ['fieldSelector', `metadata.name=${secret}`], ['resourceVersion', String(100000 + ctx.rng.int(900000))], ['timeout', '7m3s'], ['timeoutSeconds', '423'], ['watch', 'true']],
        time: at(),
      });
    }
  }
  if (ctx.rng.chance(0.2)) {
    ctx.emit({ ...base, verb: 'get', resource: 'nodes', name: node.name, time: at() });
  }
}

function controlPlane(ctx: TrafficContext, minuteMs: number, minute: number): void {
  const c = ctx.cluster;
  const at = (): string => ctx.time(minuteMs + ctx.rng.int(60_000));
  const scheduler = { user: 'system:kube-scheduler', userAgent: SCHEDULER_UA, sourceIPs: [c.apiServerIp] };
  ctx.emit({ ...scheduler, ...LEASES, verb: 'get', namespace: 'kube-system', name: 'kube-scheduler', time: at() });
  ctx.emit({ ...scheduler, ...LEASES, verb: 'update', namespace: 'kube-system', name: 'kube-scheduler', time: at() });
  const kcm = { user: 'system:kube-controller-manager', userAgent: KCM_SHARED_UA, sourceIPs: [c.apiServerIp] };
  ctx.emit({ ...kcm, ...LEASES, verb: 'update', namespace: 'kube-system', name: 'kube-controller-manager', time: at() });
  if (minute % 7 === 0) {
    // Shared informers re-establish their cluster-wide Secret watch every few minutes.
    ctx.emit({ ...kcm, verb: 'watch', resource: 'secrets', query: [['allowWatchBookmarks', 'true'], ['resourceVersion', String(200000 + minute)], ['timeoutSeconds', '466'], ['watch', 'true']], time: at() });
  }
  if (ctx.rng.chance(0.3)) {
    const app = ctx.rng.pick(c.apps);
    ctx.emit({ ...scheduler, verb: 'create', resource: 'pods', subresource: 'binding', namespace: app, name: appPod(ctx, app), time: at() });
  }
  if (minute % 5 === 2) {
    const coredns = { user: saUser('kube-system', 'coredns'), userAgent: 'coredns/v1.11.1 (linux/amd64) kubernetes/$Format', sourceIPs: ['10.0.0.53'] };
    ctx.emit({ ...coredns, verb: 'watch', resource: 'endpointslices', apiGroup: 'discovery.k8s.io', time: at() });
  }
}

function workloads(ctx: TrafficContext, minuteMs: number): void {
  const c = ctx.cluster;
  const at = (): string => ctx.time(minuteMs + ctx.rng.int(60_000));
  for (const app of c.apps) {
    const pod = appPod(ctx, app);
    const extra = boundToken(ctx, pod);
    ctx.emit({ user: saUser(app, app), ...(extra === undefined ? {} : { extra }), userAgent: APP_UA, sourceIPs: [`10.${ctx.rng.int(4)}.${ctx.rng.int(200)}.${2 + ctx.rng.int(250)}`], verb: 'get', resource: 'configmaps', namespace: app, name: `${app}-config`, time: at() });
  }
  // cert-manager reads issuer and certificate Secrets across namespaces (bound token, own pod).
  if (c.cloud !== 'gke' && ctx.rng.chance(0.4)) {
    const pod = 'cert-manager-6d8f7c9b5-q7k2x';
    const extra = boundToken(ctx, pod);
    const app = ctx.rng.pick(c.apps);
    ctx.emit({ user: saUser('cert-manager', 'cert-manager'), ...(extra === undefined ? {} : { extra }), userAgent: CERT_MANAGER_UA, sourceIPs: ['10.1.7.19'], verb: 'get', resource: 'secrets', namespace: app, name: `${app}-tls`, time: at() });
  }
}

function personBase(p: Person): Pick<K8sEventInit, 'user' | 'groups' | 'extra' | 'userAgent' | 'sourceIPs'> & { user: string } {
  return { user: p.name, ...(p.groups === undefined ? {} : { groups: p.groups }), ...(p.extra === undefined ? {} : { extra: p.extra }), userAgent: KUBECTL, sourceIPs: [p.ip] };
}

function people(ctx: TrafficContext, minuteMs: number): void {
  const c = ctx.cluster;
  const at = (): string => ctx.time(minuteMs + ctx.rng.int(60_000));
  if (ctx.rng.chance(0.35)) {
    const who = personBase(ctx.rng.pick(c.people));
    const app = ctx.rng.pick(c.apps);
    ctx.emit({ ...who, verb: 'list', resource: 'pods', namespace: app, query: [['limit', '500']], time: at() });
    if (ctx.rng.chance(0.5)) ctx.emit({ ...who, verb: 'get', resource: 'deployments', apiGroup: 'apps', namespace: app, name: app, time: at() });
    if (ctx.rng.chance(0.3)) ctx.emit({ ...who, verb: 'get', resource: 'pods', subresource: 'log', namespace: app, name: appPod(ctx, app), time: at() });
  }
  if (ctx.rng.chance(0.08)) {
    const who = personBase(ctx.rng.pick(c.people));
    const app = ctx.rng.pick(c.apps);
    const command = ctx.rng.pick(HARMLESS_COMMANDS);
    const query: Array<[string, string]> = [...command.map((arg): [string, string] => ['command', arg]), ['container', app], ['stdin', 'true'], ['stdout', 'true'], ['tty', 'true']];
    ctx.emit({ ...who, verb: 'create', resource: 'pods', subresource: 'exec', namespace: app, name: appPod(ctx, app), query, time: at() });
  }
}

/** All benign traffic of one minute of the window. */
export function benignMinute(ctx: TrafficContext, minute: number, nodes: readonly DemoNode[]): void {
  const minuteMs = minute * 60_000;
  for (const node of nodes) kubelet(ctx, node, minuteMs);
  controlPlane(ctx, minuteMs, minute);
  workloads(ctx, minuteMs);
  people(ctx, minuteMs);
}
