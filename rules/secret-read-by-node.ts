import { ADDRESS_BASELINE_MS, addressBaselineKey, addressesIn, addressEvidence } from '../core/detection/address-book.js';
import type { AuditEvent } from '../core/model/event.js';
import type { K8sEventInit } from '../examples/audit-records.js';
import type { ExampleKit } from './data/example-kit.js';
import { classifyIdentity } from '../core/detection/identity.js';
import { isKubeletUserAgent } from '../core/detection/kubelet.js';
import { defineRule, earlierRunEvidence, type EventHistory, type RuleExample } from '../core/model/rule.js';
import {
  UNVERIFIED,
  clientAddress,
  describeClient,
  describeRead,
  isDenied,
  secretRead,
} from '../core/detection/secret-scope.js';

/** Client addresses of this node's earlier kubelet-shaped requests in the scan. */
function kubeletAddresses(e: AuditEvent, history: EventHistory): readonly string[] {
  return history.clientAddresses?.(e, 'kubelet') ?? addressesIn(history.sameUser(e), e, 'kubelet');
}

export default defineRule({
  id: 'secret-read-by-node',
  title: 'Node credential reads Secrets outside the kubelet path',
  severity: 'high',
  mitre: ['T1552.007', 'T1078'],
  description:
    'A node identity (system:node:<name>) reads Secrets in a way the kubelet never does: a whole namespace or the whole cluster, ' +
    'a client other than the kubelet, or an address other than the one the node\'s kubelet uses. Denied attempts are reported too.',
  whyItMatters:
    'The Node authorizer lets a kubelet read only the Secrets of pods bound to its node, one name at a time. A node credential ' +
    'that lists Secrets, talks through kubectl or curl, or appears from a new address is a stolen kubelet certificate or ' +
    'kubeconfig at work; a denied read is someone probing what that credential can reach.',
  falsePositives: [
    'A node whose address changed within the last 3 days (rare: node IPs are stable for the node\'s life; a replaced node gets a new name).',
    'RBAC that grants system:nodes extra Secret access (a misconfiguration worth fixing anyway).',
    'A kubelet read denied because its pod moved or was deleted between scheduling and the read (reported low).',
  ],
  runbook: [
    'Identify the node from the user name and compare the source address with the node\'s InternalIP (kubectl get node -o wide).',
    'If the address or user agent is not the node\'s kubelet, treat the node credential as stolen: cordon and drain the node, replace it, and revoke its client certificate by rotating the node.',
    'List the Secrets the credential read (facts.namespace / facts.name, and other findings for the same user) and rotate them.',
    'Look for how the credential left the node: hostPath mounts of /var/lib/kubelet, privileged pods, exec into node-level pods.',
  ],
  references: [
    'https://kubernetes.io/docs/reference/access-authn-authz/node/',
    'https://github.com/elastic/detection-rules/blob/main/rules/integrations/kubernetes/credential_access_kubernetes_secret_read_by_node_or_pod_service_account.toml',
    'https://attack.mitre.org/techniques/T1552/007/',
  ],
  clouds: {
    eks: 'full',
    aks: 'kube-audit only (kube-audit-admin has no get/list)',
    gke: 'Data Access logs only; no field selector visible (single-name reads are recognised by the object name GKE logs)',
    k8s: 'full when the audit policy logs Secret reads at Metadata level',
  },
  needs: { resources: ['secrets'], subresources: [''], verbs: ['get', 'list', 'watch'] },
  memory: {
    baseline: true,
    keeps: 'each node\'s kubelet client addresses: the newest kubelet request per (cluster, node, address), for 3 days',
    keep(e, ctx) {
      if (classifyIdentity(e.user, ctx.identities).kind !== 'node') return undefined;
      const key = addressBaselineKey(e, 'kubelet');
      return key === undefined ? undefined : { forMs: ADDRESS_BASELINE_MS, key };
    },
  },
  evaluate(e, ctx) {
    const id = classifyIdentity(e.user, ctx.identities);
    if (id.kind !== 'node') return null; // service accounts and others: secret-read-by-service-account, secret-sweep
    const read = secretRead(e);
    const denied = isDenied(e);
    const anomalies: string[] = [];
    const unverified = [...read.unverified];
    if (read.scope === 'cluster') anomalies.push('reads secrets in all namespaces');
    if (read.scope === 'namespace') anomalies.push(`reads every secret in namespace ${read.namespace ?? '?'}`);
    if (e.userAgent === undefined) unverified.push(UNVERIFIED.userAgent);
    else if (!isKubeletUserAgent(e.userAgent)) anomalies.push(`user agent is not the kubelet's: ${e.userAgent}`);
    const addr = clientAddress(e);
    const known = kubeletAddresses(e, ctx.history);
    if (addr === undefined) unverified.push(UNVERIFIED.sourceAddress);
    else if (known.length === 0) unverified.push('node address: no earlier kubelet request from this node in the scan to compare with');
    const suspectAddress = addr !== undefined && known.length > 0 && !known.includes(addr);
    if (suspectAddress) anomalies.push(`source ${addr} is not the address of this node's kubelet (${[...known].join(', ')})`);
    // The kubelet's own single-name read, the Node authorizer's normal path: nearly every read.
    if (anomalies.length === 0 && !denied) return null;

    const facts: Record<string, unknown> = {
      node: id.node,
      scope: read.scope,
      ...(read.namespace === undefined ? {} : { namespace: read.namespace }),
      ...(read.name === undefined ? {} : { name: read.name }),
      ...(read.selector === undefined ? {} : { selector: read.selector }),
      denied,
      anomalies,
      unverified,
    };
    if (known.length > 0) facts['kubeletAddresses'] = [...known];
    const who = `${e.user.name ?? '?'} ${e.verb} ${describeRead(read)} in ${e.cluster ?? 'the cluster'} ${describeClient(e)}`;
    if (anomalies.length === 0) {
      return {
        severity: 'low',
        summary: `${who}: denied, but shaped like the kubelet's own read (a pod that moved or was deleted)`,
        facts,
      };
    }
    if (known.length > 0) {
      // Only for a finding: the scan of the node's history costs more than the verdict.
      const earlier = earlierRunEvidence(ctx.history, addressEvidence(ctx.history.sameUser(e), e, 'kubelet', known));
      if (earlier.length > 0) facts['earlierRuns'] = earlier;
    }
    return {
      severity: denied ? 'medium' : 'high',
      ...(suspectAddress ? { suspectAddress } : {}),
      summary: `${who}${denied ? ' (denied: probing with a node credential)' : ''}: ${anomalies.join('; ')}`,
      facts,
    };
  },
});

/** The suite runs these (`RuleExample`, core/model/rule.ts); kept off the rule, so what builds them never ships. */
export function examples({ asAks, asEks, asGke, k8sEvent }: ExampleKit): RuleExample[] {
  const KUBELET_UA = 'kubelet/v1.30.2 (linux/amd64) kubernetes/3968350';
  const EKS_NODE = 'system:node:ip-10-0-1-23.eu-west-1.compute.internal';
  const AKS_NODE = 'system:node:aks-nodepool1-31718369-vmss000002';
  const GKE_NODE = 'system:node:gke-gke-prod-1-default-pool-1a2b3c4d-x7k2';

  const nodeRead = (init: Partial<K8sEventInit> & { user: string }) =>
    k8sEvent({ verb: 'get', resource: 'secrets', sourceIPs: ['10.0.1.23'], userAgent: KUBELET_UA, ...init });
  return [
    {
      name: 'Sigma/Elastic: node get of one secret with kubectl (EKS)',
      expect: 'high',
      record: asEks(nodeRead({ user: EKS_NODE, namespace: 'payments', name: 'stripe-api-key', sourceIPs: ['198.51.100.7'], userAgent: 'kubectl/v1.30.2 (linux/amd64) kubernetes/3968350' })),
      facts: { node: 'ip-10-0-1-23.eu-west-1.compute.internal', scope: 'single', name: 'stripe-api-key', denied: false },
    },
    {
      name: 'Sigma/Elastic: node lists a whole namespace with the kubelet user agent (AKS diagnostic record)',
      expect: 'high',
      record: asAks(nodeRead({ user: AKS_NODE, verb: 'list', namespace: 'payments', sourceIPs: ['10.224.0.5'] }), { form: 'diagnostic' }),
      facts: { scope: 'namespace', namespace: 'payments', anomalies: ['reads every secret in namespace payments'] },
    },
    {
      name: 'node lists secrets of all namespaces with Go-http-client (GKE core/v1/secrets)',
      expect: 'high',
      record: asGke(nodeRead({ user: GKE_NODE, verb: 'list', sourceIPs: ['10.128.0.9'], userAgent: 'Go-http-client/2.0' })),
      facts: { scope: 'cluster', unverified: [UNVERIFIED.fieldSelector, 'node address: no earlier kubelet request from this node in the scan to compare with'] },
    },
    {
      name: 'Sigma/Elastic: denied node read with curl (EKS)',
      expect: 'medium',
      record: asEks(nodeRead({ user: EKS_NODE, namespace: 'kube-system', name: 'aws-secret', code: 403, userAgent: 'curl/8.5.0' })),
      facts: { denied: true },
    },
    {
      name: 'denied namespace list by a node (AKSAudit row)',
      expect: 'medium',
      record: asAks(nodeRead({ user: AKS_NODE, verb: 'list', namespace: 'default', code: 403, sourceIPs: ['10.224.0.5'] }), { form: 'aksaudit' }),
    },
    {
      name: 'kubelet-shaped get from an address the node\'s kubelet never used (EKS chain)',
      expect: 'high',
      records: [
        asEks(nodeRead({ user: EKS_NODE, namespace: 'shop', name: 'db-creds', time: '2026-03-02T09:00:00.000000Z' })),
        asEks(nodeRead({ user: EKS_NODE, namespace: 'shop', name: 'tls-cert', sourceIPs: ['203.0.113.50'], time: '2026-03-02T09:01:30.000000Z' })),
      ],
      facts: { kubeletAddresses: ['10.0.1.23'] },
    },
    {
      name: 'kubelet-shaped get that was denied (a pod that moved): low, not medium',
      expect: 'low',
      record: asEks(nodeRead({ user: EKS_NODE, namespace: 'shop', name: 'db-creds', code: 403 })),
      note:
        'The issue rates denied node reads medium; a denial of the kubelet\'s own single-name read from its own user ' +
        'agent is the Node authorizer race after a pod moved, so it is reported low. Any other denied node read stays ' +
        'medium.',
    },
    {
      name: 'kubelet reflector lists one mounted secret by field selector (EKS)',
      expect: null,
      record: asEks(nodeRead({
        user: EKS_NODE, verb: 'list', namespace: 'shop', name: 'db-creds',
        requestURI: '/api/v1/namespaces/shop/secrets?fieldSelector=metadata.name%3Ddb-creds&limit=500&resourceVersion=0',
      })),
    },
    {
      name: 'kubelet reflector watches one mounted secret (AKS AzureDiagnostics row)',
      expect: null,
      record: asAks(nodeRead({
        user: AKS_NODE, verb: 'watch', namespace: 'shop', name: 'db-creds', sourceIPs: ['10.224.0.5'],
        requestURI: '/api/v1/namespaces/shop/secrets?allowWatchBookmarks=true&fieldSelector=metadata.name%3Ddb-creds&resourceVersion=4711&timeout=7m2s&watch=true',
      }), { form: 'azure-diagnostics' }),
    },
    {
      name: 'kubelet watch of one mounted secret on GKE (no query logged; the name is in resourceName)',
      expect: null,
      record: asGke(nodeRead({ user: GKE_NODE, verb: 'watch', namespace: 'shop', name: 'db-creds', sourceIPs: ['10.128.0.9'] })),
    },
    {
      name: 'kubelet get of a secret that does not exist yet (404) is not a denial (EKS)',
      expect: null,
      record: asEks(nodeRead({ user: EKS_NODE, namespace: 'shop', name: 'not-created-yet', code: 404 })),
    },
    {
      name: 'a service account is not a node (GKE)',
      expect: null,
      record: asGke(nodeRead({ user: 'system:serviceaccount:shop:api', verb: 'list', namespace: 'billing', userAgent: 'kubectl/v1.30.2 (linux/amd64) kubernetes/3968350' })),
    },
  ];
}
