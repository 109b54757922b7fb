import { BlockList, isIP } from 'node:net';
import * as z from 'zod';
import type { AuditEvent } from '../core/model/event.js';
import type { K8sAuditEventJson, K8sEventInit } from '../examples/audit-records.js';
import type { ExampleKit } from './data/example-kit.js';
import { nodeName } from '../core/detection/identity.js';
import { isKubeletUserAgent } from '../core/detection/kubelet.js';
import { defineRule, earlierRunEvidence, type RuleExample } from '../core/model/rule.js';
import { ADDRESS_BASELINE_MS, addressBaselineKey } from '../core/detection/address-book.js';
import { getOrMake } from '../core/detection/memo.js';

const options = z.object({
  /**
   * User agents besides the kubelet's that run with the node credential on the node itself.
   * Default: GKE's node-problem-detector, which uses the kubelet kubeconfig (general knowledge, not verified in a log).
   */
  nodeUserAgents: z
    .array(z.string().refine((p) => { try { new RegExp(p); return true; } catch { return false; } }, 'not a valid regular expression'))
    .default(['^node-problem-detector/']),
  /**
   * CIDRs the nodes live in. When set, a node credential used from outside them is reported even
   * with no earlier kubelet traffic seen. Default none: only the kubelet addresses seen (in this
   * run, or kept by earlier runs for 3 days) are used.
   */
  nodeNetworks: z.array(z.string().regex(/^[0-9a-fA-F:.]+\/\d{1,3}$/)).default([]),
});

type Options = z.infer<typeof options>;

/**
 * Resources a stolen kubelet credential is used on. Secrets belong to secret-read-by-node; leases
 * and events are left out because every kubelet writes them every few seconds.
 */
const RESOURCES: readonly string[] = Object.freeze([
  'pods', 'nodes', 'configmaps', 'serviceaccounts', 'namespaces', 'services', 'endpoints', 'endpointslices',
  'persistentvolumeclaims', 'persistentvolumes', 'certificatesigningrequests', 'csinodes', 'volumeattachments',
  'roles', 'rolebindings', 'clusterroles', 'clusterrolebindings', 'deployments', 'daemonsets',
]);

/**
 * The kubelet's own user agent (`kubelet/v1.30.2 (linux/amd64) kubernetes/…`). Requests carrying
 * it are not needed: they are most of a busy cluster's audit log (the rule alone would have the
 * server-side filters download ~57 % of it), and without this exclusion the filters cannot skip
 * them. Only this built-in prefix can be excluded: `nodeUserAgents` is configuration, and needs are
 * static, so those agents' requests are still downloaded and evaluated (then passed).
 */
const KUBELET_UA_PREFIX = 'kubelet/';

const firstAddress = (e: AuditEvent): string | undefined => {
  const a = e.sourceIPs[0];
  return a !== undefined && isIP(a) !== 0 ? a : undefined;
};

const agentsCache = new WeakMap<readonly string[], RegExp[]>();
const compileAgents = (patterns: readonly string[]): RegExp[] => patterns.map((p) => new RegExp(p));
const nodeAgentPatterns = (patterns: readonly string[]): RegExp[] => getOrMake(agentsCache, patterns, compileAgents);

const networksCache = new WeakMap<readonly string[], BlockList>();
function blockListOf(cidrs: readonly string[]): BlockList {
  const list = new BlockList();
  for (const c of cidrs) {
    const [net, bits] = c.split('/') as [string, string];
    list.addSubnet(net, Number(bits), isIP(net) === 6 ? 'ipv6' : 'ipv4');
  }
  return list;
}
const networks = (cidrs: readonly string[]): BlockList => getOrMake(networksCache, cidrs, blockListOf);

export default defineRule<Options>({
  id: 'node-credential-off-node',
  title: 'Node credential used off its node',
  severity: 'high',
  mitre: ['T1078', 'T1550.001', 'T1552.004'],
  description:
    'A request authenticated as system:node:<name> that does not look like that node\'s kubelet: a user agent other than the ' +
    'kubelet\'s (kubectl, curl, python-requests, a bare Go-http-client), or a source address outside the node\'s addresses (the ' +
    'addresses of its earlier kubelet requests that the scan downloaded for any rule, or the configured node networks). ' +
    'Requests whose user agent starts with kubelet/ are not evaluated at all (the rule\'s needs exclude them so that the ' +
    'server-side filters can skip the kubelet\'s own traffic): a thief who also forges the kubelet user agent is not seen by ' +
    'this rule. Secret reads are judged by secret-read-by-node.',
  whyItMatters:
    'A kubelet client certificate or kubeconfig copied off a node works from anywhere until it expires. Used from a laptop or ' +
    'another pod it lists pods cluster-wide, reads configmaps, requests service-account tokens for pods on that node and ' +
    'creates pods: the stolen-certificate half of kubelet PKI theft.',
  falsePositives: [
    'Other node components that reuse the kubelet kubeconfig with their own user agent: add them to nodeUserAgents.',
    'A node that talks to the API server from two addresses of one family (secondary interfaces); dual-stack IPv4/IPv6 is handled.',
    'A request with no user agent from a node whose kubelet used another address earlier in the scan (or, for scheduled runs, in the last 3 days), or from outside nodeNetworks.',
  ],
  runbook: [
    'Compare the source address with the node\'s InternalIP (kubectl get node <name> -o wide) and the user agent with the kubelet\'s.',
    'Requests of the same user name that carry the kubelet user agent are not in this rule\'s view (nor, on a live scan, ' +
      'downloaded unless another rule needs them): search the audit log for the user name to see them, and check their ' +
      'source addresses too.',
    'If it is not the node: the node\'s credential is stolen. Cordon, drain and replace the node; on kubeadm clusters also delete its certificate files and re-join.',
    'Look for how it was taken: pki-read-via-exec, pki-host-mount and pki-read-via-node-proxy findings for pods on that node.',
    'List what the credential did (all events for the user name) and rotate service-account tokens it requested.',
  ],
  references: [
    'https://kubernetes.io/docs/reference/access-authn-authz/node/',
    'https://www.cyberark.com/resources/threat-research-blog/using-kubelet-client-to-attack-the-kubernetes-cluster',
    'https://github.com/panther-labs/panther-analysis/blob/main/rules/kubernetes_rules/k8s_system_principal_public_ip.yml',
  ],
  clouds: {
    eks: 'full',
    aks: 'full (kube-audit; kube-audit-admin has no reads)',
    gke: 'reads need Data Access logs; one caller address per entry',
    k8s: 'full',
  },
  needs: { resources: RESOURCES, userPrefixes: ['system:node:'], excludeUserAgentPrefixes: [KUBELET_UA_PREFIX] },
  options,
  memory: {
    baseline: true,
    keeps: 'each node\'s kubelet client addresses: the newest kubelet request per (cluster, node, address) any rule downloaded, for 3 days',
    keep(e) {
      if (nodeName(e.user.name) === undefined) return undefined;
      const key = addressBaselineKey(e, 'kubelet');
      return key === undefined ? undefined : { forMs: ADDRESS_BASELINE_MS, key };
    },
  },
  evaluate(e, ctx) {
    const node = nodeName(e.user.name);
    if (node === undefined) return null;
    const reasons: string[] = [];
    const ua = e.userAgent;
    const nodeAgent = ua !== undefined && (isKubeletUserAgent(ua) || nodeAgentPatterns(ctx.options.nodeUserAgents).some((re) => re.test(ua)));
    // A missing user agent proves nothing either way.
    if (ua !== undefined && !nodeAgent) reasons.push(`user agent is not the kubelet's: ${ua}`);
    const addr = firstAddress(e);
    const known = new Set<string>();
    const basis: AuditEvent[] = [];
    for (const earlier of ctx.history.sameUser(e)) {
      if (earlier.id === e.id || !isKubeletUserAgent(earlier.userAgent) || ctx.history.suspect?.(earlier) === true) continue;
      const a = firstAddress(earlier);
      if (a !== undefined && !known.has(a)) {
        known.add(a);
        basis.push(earlier);
      }
    }
    // Dual-stack nodes use one address per family: compare within the family only.
    const sameFamily = addr === undefined ? [] : [...known].filter((a) => isIP(a) === isIP(addr));
    let suspectAddress = false;
    if (addr !== undefined && sameFamily.length > 0 && !known.has(addr)) {
      reasons.push(`source ${addr} is not one of the node's kubelet addresses (${sameFamily.join(', ')})`);
      suspectAddress = true;
    }
    if (addr !== undefined && ctx.options.nodeNetworks.length > 0 && !networks(ctx.options.nodeNetworks).check(addr, isIP(addr) === 6 ? 'ipv6' : 'ipv4')) {
      reasons.push(`source ${addr} is outside the node networks`);
      suspectAddress = true;
    }
    if (reasons.length === 0) return null;
    const t = e.target;
    const scope = t.name !== undefined ? ` ${t.namespace === undefined ? '' : `${t.namespace}/`}${t.name}` : t.namespace === undefined ? ' (all namespaces)' : ` in ${t.namespace}`;
    const obj = `${t.resource ?? '?'}${t.subresource === undefined ? '' : `/${t.subresource}`}${scope}`;
    return {
      ...(suspectAddress ? { suspectAddress } : {}),
      summary:
        `Node credential of ${node} used to ${e.verb} ${obj}${e.cluster === undefined ? '' : ` in cluster ${e.cluster}`} from ${addr ?? e.sourceIPs[0] ?? 'unknown address'}` +
        ` (${ua ?? 'no user agent'}): ${reasons.join('; ')}${e.outcome.result === 'failure' ? ' (denied)' : ''}`,
      facts: {
        node, userAgent: ua, sourceIP: addr, knownAddresses: [...known], reasons, denied: e.outcome.result === 'failure',
        ...((ev) => (ev.length === 0 ? {} : { earlierRuns: ev }))(earlierRunEvidence(ctx.history, basis)),
      },
    };
  },
});

/** The suite runs these (`RuleExample`, core/model/rule.ts); kept off the rule, so what builds them never ships. */
export function examples({ asAks, asEks, asGke, k8sEvent, realRecord }: ExampleKit): RuleExample[] {
  const KUBELET_UA = 'kubelet/v1.30.2 (linux/amd64) kubernetes/3968350';
  const EKS_NODE = 'system:node:ip-10-0-1-23.eu-west-1.compute.internal';
  const AKS_NODE = 'system:node:aks-nodepool1-31718369-vmss000002';
  const GKE_NODE = 'system:node:gke-gke-prod-1-default-pool-1a2b3c4d-x7k2';
  const req = (user: string, init: Partial<K8sEventInit> = {}) =>
    k8sEvent({ verb: 'list', user, resource: 'pods', userAgent: KUBELET_UA, sourceIPs: ['10.0.1.23'], ...init });
  /** The same request as logged when the client sent no User-Agent header. */
  const withoutAgent = (ev: K8sAuditEventJson): K8sAuditEventJson => {
    const { userAgent: _sent, ...rest } = ev;
    return rest;
  };
  return [
    {
      name: 'stolen kubelet cert lists pods cluster-wide with kubectl (EKS)',
      expect: 'high',
      record: asEks(req(EKS_NODE, { userAgent: 'kubectl/v1.30.2 (darwin/arm64) kubernetes/3968350', sourceIPs: ['198.51.100.7'] })),
      cluster: 'eks-prod-1',
      facts: { node: 'ip-10-0-1-23.eu-west-1.compute.internal', reasons: ['user agent is not the kubelet\'s: kubectl/v1.30.2 (darwin/arm64) kubernetes/3968350'] },
    },
    {
      name: 'curl reads the coredns configmap with a node identity (AKS)',
      expect: 'high',
      record: asAks(req(AKS_NODE, { verb: 'get', resource: 'configmaps', namespace: 'kube-system', name: 'coredns', sourceIPs: ['203.0.113.99'], userAgent: 'curl/8.5.0' })),
      facts: { node: 'aks-nodepool1-31718369-vmss000002', sourceIP: '203.0.113.99', reasons: ['user agent is not the kubelet\'s: curl/8.5.0'] },
    },
    {
      name: 'kubelet user agent forged, from an address the node never used (AKS, two records)',
      expect: null,
      records: [
        asAks(req(AKS_NODE, { verb: 'get', resource: 'nodes', name: 'aks-nodepool1-31718369-vmss000002', sourceIPs: ['10.224.0.5'], time: '2026-03-02T09:00:00.000000Z' })),
        asAks(req(AKS_NODE, { verb: 'get', resource: 'configmaps', namespace: 'kube-system', name: 'coredns', sourceIPs: ['203.0.113.99'], time: '2026-03-02T09:01:00.000000Z' })),
      ],
      note:
        'Was high (address check). Requests with a kubelet/ user agent are outside this rule\'s needs so that the server-side ' +
        'filters can skip the kubelet\'s own traffic (~57 % of a busy cluster\'s audit log); a thief who forges the kubelet ' +
        'user agent is left to secret-read-by-node when the credential reads Secrets.',
    },
    {
      name: 'benign: a node request without a user agent and no earlier kubelet address to compare with (EKS)',
      expect: null,
      record: asEks(withoutAgent(req(EKS_NODE, { verb: 'get', resource: 'nodes', name: 'ip-10-0-1-23.eu-west-1.compute.internal' }))),
      cluster: 'eks-prod-1',
    },
    {
      name: 'benign: node-problem-detector with the kubelet kubeconfig (GKE, a default nodeUserAgents entry)',
      expect: null,
      record: asGke(req(
        GKE_NODE,
        {
          verb: 'patch',
          resource: 'nodes',
          subresource: 'status',
          name: 'gke-gke-prod-1-default-pool-1a2b3c4d-x7k2',
          userAgent: 'node-problem-detector/v0.8.19 (linux/amd64) kubernetes/0000000',
        },
      )),
    },
    {
      name: 'python-requests creates a pod with a node identity (GKE)',
      expect: 'high',
      record: asGke(req(GKE_NODE, { verb: 'create', namespace: 'default', name: 'x', userAgent: 'python-requests/2.31.0', code: 403 })),
      facts: { denied: true },
    },
    {
      name: 'benign: the kubelet lists its own pods with its user agent (EKS)',
      expect: null,
      record: asEks(req(EKS_NODE, { query: [['fieldSelector', 'spec.nodeName=ip-10-0-1-23.eu-west-1.compute.internal']] })),
      cluster: 'eks-prod-1',
    },
    {
      name: 'benign: kubelet traffic from the same address twice (AKS)',
      expect: null,
      records: [
        asAks(req(AKS_NODE, { verb: 'get', resource: 'nodes', name: 'aks-nodepool1-31718369-vmss000002', sourceIPs: ['10.224.0.5'] })),
        asAks(req(AKS_NODE, { verb: 'patch', resource: 'pods', subresource: 'status', namespace: 'default', name: 'web-1', sourceIPs: ['10.224.0.5'], time: '2026-03-02T09:02:00.000000Z' })),
      ],
    },
    {
      name: 'benign: human with kubectl is not a node identity (GKE)',
      expect: null,
      record: asGke(req('alice@example.com', { userAgent: 'kubectl/v1.30.2 (linux/amd64) kubernetes/3968350' })),
    },
    {
      name: 'real GKE capture: system:node kubelet deletes a pod with its own user agent (gke-labs/kube-agents delete_call)',
      expect: null,
      record: realRecord('gke-labs-kube-agents/drift-detector-testdata.jsonl', 6),
    },
  ];
}
