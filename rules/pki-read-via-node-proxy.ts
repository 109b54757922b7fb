import * as z from 'zod';
import { execCommand, readsPrivateKey, sensitiveReads } from '../core/detection/exec-command.js';
import type { K8sEventInit } from '../examples/audit-records.js';
import type { ExampleKit } from './data/example-kit.js';
import { classifyIdentity } from '../core/detection/identity.js';
import { kubeletProxyPath } from '../core/detection/kubelet.js';
import { defineRule, type RuleExample } from '../core/model/rule.js';
import { DEFAULT_HOST_MOUNT_PREFIXES } from '../core/detection/sensitive-paths.js';

/** Kubelet API endpoints that run commands or open streams into containers (Elastic AKS kubelet-proxy rule). */
const COMMAND_ENDPOINTS: readonly string[] = Object.freeze(['exec', 'run', 'attach', 'portforward', 'cri']);
/**
 * Other kubelet endpoints that hand out what a credential thief wants, reported one step lower:
 * `/checkpoint` snapshots a running container (memory and files, so its secrets) to the node,
 * `/logs` serves the node's /var/log, `/configz` the kubelet's configuration, `/debug` its pprof
 * and flags, `/pods` and `/runningpods` every pod spec of the node (env values included).
 * Kubelet paths per kubernetes.io "Kubelet authentication/authorization" (its subresource table).
 * The monitoring endpoints (`/metrics`, `/stats`, `/healthz`, `/spec`) are not reported.
 */
const SENSITIVE_ENDPOINTS: readonly string[] = Object.freeze(['checkpoint', 'logs', 'containerLogs', 'configz', 'debug', 'pods', 'runningpods']);

const options = z.object({
  /** Exact user names allowed to reach the kubelet's command endpoints (node agents that really do). Default none. */
  allowedUsers: z.array(z.string()).default([]),
  hostMountPrefixes: z.array(z.string().startsWith('/')).default([...DEFAULT_HOST_MOUNT_PREFIXES]),
  /** Denied attempts show someone probing for nodes/proxy; reported medium. */
  reportDenied: z.boolean().default(true),
});

type Options = z.infer<typeof options>;

export default defineRule<Options>({
  id: 'pki-read-via-node-proxy',
  title: 'Kubelet command endpoint reached through nodes/proxy',
  severity: 'high',
  mitre: ['T1609', 'T1552.004'],
  description:
    'A nodes/proxy request to the kubelet\'s /exec, /run, /attach, /portforward or /cri endpoint (high), to /checkpoint (high), or to ' +
    '/logs, /configz, /debug or /pods (medium), by an identity that is neither a node nor the control plane. The API server logs only ' +
    'the proxied URL: the command runs in any pod of that node with no pods/exec event. Critical when the proxied exec command reads a ' +
    'private key. On GKE the kubelet path comes from resourceName, which carries no query string, so the command is reported unknown.',
  whyItMatters:
    'nodes/proxy is a back door around pods/exec RBAC and admission: whoever holds it can run commands in every pod of the node, ' +
    'including privileged node agents that mount the kubelet PKI. It is the audit-visible path to the kubelet API.',
  falsePositives: [
    'Monitoring that scrapes /metrics, /stats, /healthz or /spec through nodes/proxy does not match.',
    'Node troubleshooting tools that read /logs or /configz through nodes/proxy (medium); list their identity in allowedUsers.',
    'A node agent or debugging tool that deliberately uses the kubelet exec API; list its identity in allowedUsers.',
  ],
  runbook: [
    'Identify the caller (facts.user) and how it got nodes/proxy: kubectl auth can-i create nodes/proxy --as <user>; list ClusterRoles granting nodes/proxy.',
    'Read facts.endpoint and facts.kubeletPath: which pod and container were targeted; facts.command when the exec carries one.',
    'If the caller is a service account, find the pod that used its token (user.extra pod-name) and isolate it.',
    'Remove nodes/proxy from roles that do not need it; if a key was read, rotate the node (see pki-read-via-exec runbook).',
  ],
  references: [
    'https://github.com/elastic/detection-rules/blob/main/rules/integrations/azure/execution_azure_aks_kubelet_proxy_command_endpoint.toml',
    'https://github.com/DataDog/stratus-red-team/blob/main/docs/attack-techniques/kubernetes/k8s.privilege-escalation.nodes-proxy.md',
    'https://kubernetes.io/docs/reference/access-authn-authz/kubelet-authn-authz/',
  ],
  clouds: {
    eks: 'full: the kubelet path is in requestURI',
    aks: 'full: the kubelet path is in requestURI',
    gke: 'partial: the kubelet path is in resourceName, but GKE logs no query string, so an /exec or /run command is not known',
    k8s: 'full',
  },
  needs: { resources: ['nodes'], subresources: ['proxy'] },
  options,
  evaluate(e, ctx) {
    const target = kubeletProxyPath(e);
    if (target === undefined) return null; // not a nodes/proxy URL (or a GKE entry without the proxied path)
    const isCommand = COMMAND_ENDPOINTS.includes(target.endpoint);
    if (!isCommand && !SENSITIVE_ENDPOINTS.includes(target.endpoint)) return null; // /metrics, /stats, /healthz…: monitoring
    const id = classifyIdentity(e.user, ctx.identities);
    if (id.kind === 'node' || id.kind === 'control-plane') return null; // the API server itself and kubelets
    if (e.user.name !== undefined && ctx.options.allowedUsers.includes(e.user.name)) return null;
    const denied = e.outcome.result === 'failure';
    if (denied && !ctx.options.reportDenied) return null;
    // kubelet /exec carries the argv as command= like pods/exec; /run takes cmd=.
    const command = execCommand(e) ?? execCommand(e, 'cmd');
    const argv = command?.argv.length === 1 && target.endpoint === 'run' ? ['sh', '-c', command.argv[0]!] : command?.argv;
    const reads = argv === undefined ? [] : sensitiveReads(argv, { hostMountPrefixes: ctx.options.hostMountPrefixes });
    const key = readsPrivateKey(reads);
    // A log without query strings (GKE's) has the proxied path only: a command endpoint's argv is unknown, not absent.
    const commandUnknown = isCommand && argv === undefined && e.queryUnlogged === true && (target.endpoint === 'exec' || target.endpoint === 'run');
    const severity = denied ? (isCommand ? 'medium' : 'low') : key ? 'critical' : isCommand || target.endpoint === 'checkpoint' ? 'high' : 'medium';
    return {
      severity,
      summary:
        `${e.user.name ?? 'unknown user'} ${denied ? 'tried to reach' : 'reached'} the kubelet /${target.endpoint} endpoint of node ${target.node}` +
        `${target.pod === undefined ? '' : ` (pod ${target.pod})`} through nodes/proxy${e.cluster === undefined ? '' : ` in cluster ${e.cluster}`}` +
        ` from ${e.sourceIPs[0] ?? 'unknown address'}${argv === undefined ? '' : `: "${argv.join(' ')}"`}${denied ? ' (denied)' : ''}` +
        `${commandUnknown ? '; the command is not known (GKE logs no query string)' : ''}`,
      facts: {
        user: e.user.name,
        identityKind: id.kind,
        node: target.node,
        endpoint: target.endpoint,
        kubeletPath: target.path,
        pod: target.pod,
        command: argv,
        privateKey: key,
        commandUnknown,
        denied,
        reads: reads.map((r) => ({ path: r.path, kind: r.kind, reader: r.reader })),
      },
    };
  },
});

/** The suite runs these (`RuleExample`, core/model/rule.ts); kept off the rule, so what builds them never ships. */
export function examples({ asAks, asEks, asGke, k8sEvent }: ExampleKit): RuleExample[] {
  const NODE = 'ip-10-0-1-23.eu-west-1.compute.internal';
  const proxy = (path: string, init: Partial<K8sEventInit> = {}, node = NODE) =>
    k8sEvent({
      verb: 'create', user: 'system:serviceaccount:monitoring:scraper', resource: 'nodes', subresource: 'proxy', name: node,
      requestURI: `/api/v1/nodes/${node}/proxy/${path}`, userAgent: 'curl/8.5.0', sourceIPs: ['10.0.3.77'], code: 200, ...init,
    });
  /**
   * A GKE entry as GKE writes one for nodes/proxy: the proxied path follows `proxy` in resourceName
   * (the shape of a real entry: `core/v1/nodes/gke-adx-default-pool-e05a7794-jgln/proxy/metrics/cadvisor`,
   * method `io.k8s.core.v1.nodes.proxy.get`), with no query string and no requestURI.
   */
  const GKE_NODE = 'gke-prod-1-default-pool-e05a7794-jgln';
  function gkeProxy(path: string, init: Partial<K8sEventInit> = {}): Record<string, unknown> {
    const entry = asGke(proxy(path, { verb: 'get', ...init }, GKE_NODE));
    const payload = entry['protoPayload'] as Record<string, unknown>;
    const resourceName = `core/v1/nodes/${GKE_NODE}/proxy/${path.split('?')[0]}`;
    payload['resourceName'] = resourceName;
    for (const a of payload['authorizationInfo'] as Array<Record<string, unknown>>) a['resource'] = resourceName;
    return entry;
  }
  return [
    {
      name: 'service account runs cat of the kubelet key through the kubelet /exec endpoint (EKS)',
      expect: 'critical',
      record: asEks(proxy('exec/kube-system/node-agent-x7k2p/agent?command=cat&command=%2Fhost%2Fvar%2Flib%2Fkubelet%2Fpki%2Fkubelet-client-current.pem&output=1&error=1')),
      cluster: 'eks-prod-1',
      facts: { endpoint: 'exec', pod: 'kube-system/node-agent-x7k2p', privateKey: true },
    },
    {
      name: 'human uses /run through nodes/proxy (AKS)',
      expect: 'high',
      record: asAks(proxy('run/default/web-7d4b9c-x2x4p/web?cmd=id', { user: 'mallory@contoso.com', userAgent: 'kubectl/v1.30.2 (linux/amd64) kubernetes/3968350' })),
      facts: { endpoint: 'run', command: ['sh', '-c', 'id'] },
    },
    {
      name: 'cri streaming endpoint (AKS AKSAudit row)',
      expect: 'high',
      record: asAks(proxy('cri/exec/Xy12abc', { verb: 'get' }), { form: 'aksaudit' }),
    },
    {
      name: 'denied attempt on /attach (EKS)',
      expect: 'medium',
      record: asEks(proxy('attach/default/web-7d4b9c-x2x4p/web?output=1', { code: 403 })),
      cluster: 'eks-prod-1',
    },
    {
      name: 'benign: Prometheus scrapes cAdvisor metrics through nodes/proxy (EKS)',
      expect: null,
      record: asEks(proxy('metrics/cadvisor', { verb: 'get', userAgent: 'Prometheus/2.53.0' })),
      cluster: 'eks-prod-1',
    },
    {
      name: 'benign: AKS control plane (aksService) uses /exec (AKS)',
      expect: null,
      record: asAks(proxy('exec/kube-system/konnectivity-agent-5x2/agent?command=date', { user: 'aksService', userAgent: 'Go-http-client/1.1' })),
    },
    {
      name: 'GKE: a service account reaches the kubelet /run endpoint; the path is in resourceName, the command is not logged',
      expect: 'high',
      record: gkeProxy('run/default/web-7d4b9c-x2x4p/web?cmd=id', { verb: 'create' }),
      facts: { endpoint: 'run', pod: 'default/web-7d4b9c-x2x4p', commandUnknown: true, node: GKE_NODE },
    },
    {
      name: 'GKE: human uses the kubelet /exec endpoint through nodes/proxy',
      expect: 'high',
      record: gkeProxy('exec/kube-system/fluentbit-gke-x2x4p/fluentbit?command=cat&command=%2Fvar%2Flib%2Fkubelet%2Fpki%2Fkubelet-client-current.pem', {
        user: 'mallory@example.com', userAgent: 'kubectl/v1.30.2 (linux/amd64) kubernetes/3968350',
      }),
      facts: { endpoint: 'exec', pod: 'kube-system/fluentbit-gke-x2x4p', commandUnknown: true },
    },
    {
      name: 'GKE: container checkpoint through nodes/proxy (memory and files of a running container)',
      expect: 'high',
      record: gkeProxy('checkpoint/default/web-7d4b9c-x2x4p/web', { verb: 'create' }),
      facts: { endpoint: 'checkpoint' },
    },
    {
      name: 'GKE: node log files read through nodes/proxy /logs',
      expect: 'medium',
      record: gkeProxy('logs/kube-apiserver-audit.log', { user: 'mallory@example.com' }),
      facts: { endpoint: 'logs', kubeletPath: '/logs/kube-apiserver-audit.log' },
    },
    {
      name: 'GKE: kubelet configuration read through nodes/proxy /configz',
      expect: 'medium',
      record: gkeProxy('configz'),
    },
    {
      name: 'GKE: denied /attach attempt',
      expect: 'medium',
      record: gkeProxy('attach/default/web-7d4b9c-x2x4p/web', { code: 403 }),
    },
    {
      name: 'benign: GKE Prometheus scrapes cAdvisor through nodes/proxy (the shape of a real GKE entry)',
      expect: null,
      record: gkeProxy('metrics/cadvisor', { user: 'system:serviceaccount:monitoring:prometheus-k8s', userAgent: 'Prometheus/1.8.2' }),
    },
    {
      name: 'benign: GKE stats and healthz through nodes/proxy',
      expect: null,
      record: gkeProxy('stats/summary', { user: 'system:serviceaccount:kube-system:metrics-server' }),
    },
    {
      name: 'benign: GKE nodes/proxy entry that names no kubelet path',
      expect: null,
      record: asGke(proxy('', { verb: 'get' }, GKE_NODE)),
      note: 'resourceName core/v1/nodes/<node>/proxy: nothing behind the proxy to judge.',
    },
  ];
}
