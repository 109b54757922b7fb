import * as z from 'zod';
import { ADDRESS_BASELINE_MS, addressBaselineKey, addressesIn, addressEvidence } from '../core/detection/address-book.js';
import type { AuditEvent } from '../core/model/event.js';
import type { K8sEventInit } from '../examples/audit-records.js';
import type { ExampleKit } from './data/example-kit.js';
import { classifyIdentity } from '../core/detection/identity.js';
import { defineRule, earlierRunEvidence, type EventHistory, type RuleExample } from '../core/model/rule.js';
import { maxSeverity, type Severity } from '../core/model/severity.js';
import { allowlistOf, secretAllowlistOptions } from '../core/detection/secret-readers.js';
import {
  UNVERIFIED,
  clientAddress,
  controlPlaneReader,
  describeClient,
  describeRead,
  isDenied,
  matchController,
  podBinding,
  secretRead,
  userAgentOutsidePod,
} from '../core/detection/secret-scope.js';

const options = z.object({ ...secretAllowlistOptions });
type Options = z.infer<typeof options>;

/** A denial is an attempt: one step below the same read that succeeded, never below low. */
const DENIED_STEP: Record<Severity, Severity> = { info: 'info', low: 'low', medium: 'low', high: 'medium', critical: 'high' };

/** Client addresses of earlier requests made with a token bound to the same pod. */
function podAddresses(e: AuditEvent, history: EventHistory, pod: string): readonly string[] {
  return history.clientAddresses?.(e, { pod }) ?? addressesIn(history.sameUser(e), e, { pod });
}

export default defineRule<Options>({
  id: 'secret-read-by-service-account',
  title: 'Service account reads Secrets',
  severity: 'high',
  mitre: ['T1552.007', 'T1528'],
  description:
    'A pod service account (system:serviceaccount:<ns>:<sa>) gets or lists Secrets. Severity follows the scope: its own ' +
    'namespace low, another namespace high, all namespaces critical; a token used outside its pod is high whatever the scope. ' +
    'Known controllers are allowlisted only when the request comes from their own pod.',
  whyItMatters:
    'A stolen service-account token is the commonest foothold after a pod compromise. Reading Secrets of other namespaces, or ' +
    'every Secret in the cluster, turns one pod into the whole cluster\'s credentials; a token replayed from a laptop or a ' +
    'script outside the pod is theft by definition.',
  falsePositives: [
    'Operators that manage Secrets across namespaces (cert-manager, external-secrets, Flux, Argo CD, Trivy, Kyverno) installed in a non-default namespace: add them to `allow`.',
    'Applications reading their own namespace\'s Secrets at start-up (reported low, for context).',
    'On GKE and for legacy token Secrets the pod-name claim is not logged: allowlist entries then need `userAgentPrefix`.',
  ],
  runbook: [
    'Find the pod behind the token: facts.podName, or the service account\'s pods (kubectl get pods -A --field-selector spec.serviceAccountName=<sa>).',
    'Check the RoleBindings/ClusterRoleBindings that let this service account read Secrets there (kubectl auth can-i --list --as=<user>).',
    'If the source address or user agent is not that pod\'s, revoke the token: delete the pod (bound tokens die with it) or the token Secret (legacy), and rotate the Secrets read.',
    'Reduce the binding to the namespaces and resourceNames the workload really needs.',
  ],
  references: [
    'https://github.com/elastic/detection-rules/blob/main/rules/integrations/kubernetes/credential_access_kubernetes_secret_read_by_node_or_pod_service_account.toml',
    'https://kubernetes.io/docs/reference/access-authn-authz/service-accounts-admin/#bound-service-account-tokens',
    'https://attack.mitre.org/techniques/T1552/007/',
  ],
  clouds: {
    eks: 'full',
    aks: 'kube-audit only (kube-audit-admin has no get/list)',
    gke: 'Data Access logs only; no field selector and no pod-name claim visible (allowlist entries need userAgentPrefix)',
    k8s: 'full when the audit policy logs Secret reads at Metadata level',
  },
  needs: { resources: ['secrets'], subresources: [''], verbs: ['get', 'list'] },
  options,
  memory: {
    baseline: true,
    keeps: 'each pod\'s client addresses: the newest request per (cluster, service account, pod, address) made with a token bound to the pod, for 3 days',
    keep(e) {
      // As within one run: every request made with the pod's token from a client that may run in a pod.
      const key = addressBaselineKey(e, 'pod');
      return key === undefined ? undefined : { forMs: ADDRESS_BASELINE_MS, key };
    },
  },
  evaluate(e, ctx) {
    const id = classifyIdentity(e.user, ctx.identities);
    const sa = id.serviceAccount;
    if (id.kind !== 'service-account' || sa === undefined) return null;
    if (controlPlaneReader(e) !== undefined) return null; // kube-controller-manager's own controllers
    const read = secretRead(e);
    const denied = isDenied(e);
    const binding = podBinding(e);
    const outside: string[] = [];
    const unverified = [...read.unverified];
    if (binding.state === 'unbound') outside.push('token is not bound to a pod (no pod-name claim)');
    if (binding.state === 'not-logged') unverified.push(UNVERIFIED.podClaim);
    if (userAgentOutsidePod(e.userAgent)) outside.push(`client does not run in a pod: ${e.userAgent ?? ''}`);
    const addr = clientAddress(e);
    let earlier: ReturnType<typeof earlierRunEvidence> = [];
    let suspectAddress = false;
    if (binding.state === 'bound' && addr !== undefined) {
      const known = podAddresses(e, ctx.history, binding.podName);
      if (known.length > 0 && !known.includes(addr)) {
        outside.push(`source ${addr} is not the address of pod ${binding.podName} (${[...known].join(', ')})`);
        suspectAddress = true;
        earlier = earlierRunEvidence(ctx.history, addressEvidence(ctx.history.sameUser(e), e, { pod: binding.podName }, known));
      }
    }
    const match = matchController(e, allowlistOf(ctx.options));
    // An allowlisted controller is trusted from its own pod only; its token elsewhere is theft.
    if (match.allowed && outside.length === 0) return null;
    if (!match.allowed && match.entry !== undefined && binding.state === 'bound') {
      outside.push(`allowlisted service account used from pod ${binding.podName}, not ${match.entry.podNamePrefix}*`);
    }
    if (!match.allowed && match.why !== undefined && binding.state === 'not-logged') unverified.push(`allowlist ${match.entry?.serviceAccount ?? ''}: ${match.why}`);

    const own = read.namespace === sa.namespace;
    const reach: Severity = read.scope === 'cluster' ? 'critical' : own ? 'low' : 'high';
    let severity = outside.length > 0 ? maxSeverity(reach, 'high') : reach;
    if (denied) severity = DENIED_STEP[severity];
    const where = read.scope === 'cluster' ? 'all namespaces' : own ? 'its own namespace' : `namespace ${read.namespace ?? '?'}, not its own (${sa.namespace})`;
    const facts: Record<string, unknown> = {
      serviceAccount: `${sa.namespace}:${sa.name}`,
      scope: read.scope,
      crossNamespace: read.scope !== 'cluster' && !own,
      ...(read.namespace === undefined ? {} : { namespace: read.namespace }),
      ...(read.name === undefined ? {} : { name: read.name }),
      ...(binding.state === 'bound' ? { podName: binding.podName } : {}),
      podBinding: binding.state,
      denied,
      outsidePod: outside,
      unverified,
      ...(earlier.length === 0 ? {} : { earlierRuns: earlier }),
    };
    return {
      severity,
      ...(suspectAddress ? { suspectAddress } : {}),
      summary:
        `${e.user.name ?? '?'} ${e.verb} ${describeRead(read)} (${where}) in ${e.cluster ?? 'the cluster'} ${describeClient(e)}` +
        (denied ? ', denied' : '') + (outside.length > 0 ? `: ${outside.join('; ')}` : ''),
      facts,
    };
  },
});

/** The suite runs these (`RuleExample`, core/model/rule.ts); kept off the rule, so what builds them never ships. */
export function examples({ asAks, asEks, asGke, asPantherEks, k8sEvent }: ExampleKit): RuleExample[] {
  // Panther's access-denied fixtures: a get of one Secret, refused; they differ in who, which and how.
  const pantherDeniedGet = (user: string, namespace: string, name: string, responseStatus: Record<string, unknown>, sourceLabel?: string) =>
    asPantherEks(
      { kind: 'Event', verb: 'get', user: { username: user }, objectRef: { resource: 'secrets', namespace, name }, responseStatus },
      { ...(sourceLabel === undefined ? {} : { sourceLabel }), time: PANTHER_TIME },
    );
  const APP_UA = 'billing-api/v2.4.1 (linux/amd64) kubernetes/v0.30.2';
  const DARWIN_KUBECTL = 'kubectl/v1.30.2 (darwin/arm64) kubernetes/3968350';
  const KCM_UA = 'kube-controller-manager/v1.30.2 (linux/amd64) kubernetes/3968350/system:serviceaccount:kube-system:';
  const podClaims = (pod: string, jti = '6f1c2a9e-8d7b-4c5a-9f3e-2d1c0b9a8f7e') => ({
    'authentication.kubernetes.io/credential-id': [`JTI=${jti}`],
    'authentication.kubernetes.io/pod-name': [pod],
    'authentication.kubernetes.io/pod-uid': ['0b7c4d2e-1f3a-4b5c-8d9e-0a1b2c3d4e5f'],
  });
  /** Panther's fixtures carry no timestamp, which every audit record has; the examples add one. */
  const PANTHER_TIME = '2026-03-02T09:00:00Z';
  const saRead = (init: Partial<K8sEventInit> & { user: string }) =>
    k8sEvent({ verb: 'get', resource: 'secrets', sourceIPs: ['10.0.3.14'], userAgent: APP_UA, ...init });
  return [
    {
      name: 'Sigma/Elastic: service account gets a secret in its own namespace, from its pod (EKS)',
      expect: 'low',
      record: asEks(saRead({ user: 'system:serviceaccount:billing:billing-api', namespace: 'billing', name: 'db-password', extra: podClaims('billing-api-6d9f8b7c5-k2x4p') })),
      facts: { scope: 'single', crossNamespace: false, podName: 'billing-api-6d9f8b7c5-k2x4p', podBinding: 'bound', outsidePod: [] },
    },
    {
      name: 'Sigma/Elastic: service account lists secrets of another namespace (AKS AzureDiagnostics row)',
      expect: 'high',
      record: asAks(saRead({ user: 'system:serviceaccount:billing:billing-api', verb: 'list', namespace: 'payments', extra: podClaims('billing-api-6d9f8b7c5-k2x4p') }), { form: 'azure-diagnostics' }),
      facts: { scope: 'namespace', crossNamespace: true, namespace: 'payments' },
    },
    {
      name: 'Sigma/Elastic: service account lists secrets of all namespaces (GKE core/v1/secrets)',
      expect: 'critical',
      record: asGke(saRead({ user: 'system:serviceaccount:default:default', verb: 'list', userAgent: 'python-requests/2.31.0' })),
      facts: { scope: 'cluster', podBinding: 'not-logged', unverified: [UNVERIFIED.fieldSelector, UNVERIFIED.podClaim] },
    },
    {
      name: 'own-namespace read with a token minted without a pod (kubectl create token) (EKS)',
      expect: 'high',
      record: asEks(saRead({
        user: 'system:serviceaccount:billing:billing-api',
        namespace: 'billing',
        name: 'db-password',
        userAgent: 'kubectl/v1.30.2 (linux/amd64) kubernetes/3968350',
        extra: { 'authentication.kubernetes.io/credential-id': ['JTI=1d2c3b4a-5e6f-4a7b-8c9d-0e1f2a3b4c5d'] },
      })),
      facts: { podBinding: 'unbound', outsidePod: ['token is not bound to a pod (no pod-name claim)'] },
    },
    {
      name: 'own-namespace read from a macOS kubectl (AKSAudit row)',
      expect: 'high',
      record: asAks(
        saRead({
          user: 'system:serviceaccount:billing:billing-api',
          namespace: 'billing',
          name: 'db-password',
          sourceIPs: ['198.51.100.20'],
          userAgent: DARWIN_KUBECTL,
        }),
        { form: 'aksaudit' },
      ),
    },
    {
      name: 'pod-bound token replayed from another address (EKS chain)',
      expect: 'high',
      records: [
        asEks(saRead({
          user: 'system:serviceaccount:billing:billing-api',
          namespace: 'billing',
          name: 'db-password',
          extra: podClaims('billing-api-6d9f8b7c5-k2x4p'),
          time: '2026-03-02T09:00:00.000000Z',
        })),
        asEks(saRead({
          user: 'system:serviceaccount:billing:billing-api',
          namespace: 'billing',
          name: 'stripe-key',
          extra: podClaims('billing-api-6d9f8b7c5-k2x4p'),
          sourceIPs: ['203.0.113.77'],
          userAgent: 'curl/8.5.0',
          time: '2026-03-02T09:03:00.000000Z',
        })),
      ],
      facts: { outsidePod: ['source 203.0.113.77 is not the address of pod billing-api-6d9f8b7c5-k2x4p (10.0.3.14)'] },
    },
    {
      name: 'allowlisted cert-manager without its pod-name claim fires (EKS)',
      expect: 'high',
      record: asEks(saRead({
        user: 'system:serviceaccount:cert-manager:cert-manager',
        verb: 'list',
        namespace: 'payments',
        extra: { 'authentication.kubernetes.io/credential-id': ['JTI=9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d'] },
      })),
      facts: { podBinding: 'unbound' },
    },
    {
      name: 'allowlisted cert-manager from its own pod is quiet (EKS)',
      expect: null,
      record: asEks(saRead({ user: 'system:serviceaccount:cert-manager:cert-manager', verb: 'list', namespace: 'payments', extra: podClaims('cert-manager-7d9f8b6c5-x2x4p') })),
    },
    {
      name: 'cert-manager service account mounted into another pod fires (AKS diagnostic record)',
      expect: 'high',
      record: asAks(saRead({ user: 'system:serviceaccount:cert-manager:cert-manager', namespace: 'payments', name: 'stripe-key', extra: podClaims('debug-shell') }), { form: 'diagnostic' }),
    },
    {
      name: 'namespace-controller empties a namespace being deleted (GKE)',
      expect: null,
      record: asGke(saRead({ user: 'system:serviceaccount:kube-system:namespace-controller', verb: 'list', namespace: 'old-feature', sourceIPs: ['::1'], userAgent: `${KCM_UA}namespace-controller` })),
    },
    {
      name: 'token-cleaner reads a bootstrap token (AKS AKSAudit row)',
      expect: null,
      record: asAks(
        saRead({
          user: 'system:serviceaccount:kube-system:token-cleaner',
          namespace: 'kube-system',
          name: 'bootstrap-token-abcdef',
          userAgent: `${KCM_UA}token-cleaner`,
        }),
        { form: 'aksaudit' },
      ),
    },
    {
      name: 'bootstrap-signer reads bootstrap tokens (EKS)',
      expect: null,
      record: asEks(saRead({ user: 'system:serviceaccount:kube-system:bootstrap-signer', verb: 'list', namespace: 'kube-system', userAgent: `${KCM_UA}bootstrap-signer` })),
    },
    {
      name: 'service account denied a secret of another namespace (Panther access-denied fixture 5)',
      expect: 'medium',
      record: pantherDeniedGet('system:serviceaccount:default:app-sa', 'production', 'admin-token', { code: 403, message: 'Forbidden' }, 'eks-cluster'),
      facts: { crossNamespace: true, denied: true },
      note: 'Panther alerts after 20 denials in 15 minutes; one denied cross-namespace read is already an attempt with a stolen or over-reaching token: high one step down for the denial, medium.',
    },
    {
      name: 'kube-system service account denied in its own namespace (Panther access-denied fixture 7)',
      expect: 'low',
      record: pantherDeniedGet('system:serviceaccount:kube-system:controller', 'kube-system', 'token', { code: 403 }),
      note: 'Panther excludes every kube-system service account; we do not trust a name, and report an own-namespace read low for context.',
    },
    {
      name: 'service account denied a get of the whole secrets collection (Panther system-principal fixture 8)',
      expect: 'high',
      record: asPantherEks(
        {
          kind: 'Event',
          verb: 'get',
          user: { username: 'system:serviceaccount:default:test' },
          sourceIPs: ['1.2.3.4'],
          objectRef: { resource: 'secrets' },
          responseStatus: { code: 403 },
          stage: 'ResponseComplete',
        },
        { time: PANTHER_TIME },
      ),
      facts: { scope: 'cluster' },
      note: 'Panther drops 403s. The fixture names no namespace and no secret, so it reads as an attempt on every namespace: critical one step down for the denial, high.',
    },
    {
      name: 'a node is not a service account (EKS)',
      expect: null,
      record: asEks(saRead({ user: 'system:node:ip-10-0-1-23.eu-west-1.compute.internal', verb: 'list', namespace: 'payments' })),
    },
  ];
}
