import * as z from 'zod';
import { execCommand, readsPrivateKey, sensitiveReads } from '../core/detection/exec-command.js';
import type { K8sEventInit } from '../examples/audit-records.js';
import type { ExampleKit } from './data/example-kit.js';
import { defineRule, type RuleExample } from '../core/model/rule.js';
import { DEFAULT_HOST_MOUNT_PREFIXES } from '../core/detection/sensitive-paths.js';

const options = z.object({
  /** Mount points of the node filesystem inside pods; `kubectl debug node/…` uses /host. */
  hostMountPrefixes: z.array(z.string().startsWith('/')).default([...DEFAULT_HOST_MOUNT_PREFIXES]),
  /**
   * A denied exec never ran, but asking to read a key is intent worth a look: reported medium.
   * Set false to drop denied requests.
   */
  reportDenied: z.boolean().default(true),
  /** Exact user names allowed to read credentials through exec (break-glass automation). Default none. */
  allowedUsers: z.array(z.string()).default([]),
});

type Options = z.infer<typeof options>;

export default defineRule<Options>({
  id: 'pki-read-via-exec',
  title: 'Certificate, key or token read through pod exec',
  severity: 'high',
  mitre: ['T1552.004', 'T1552.007', 'T1609'],
  description:
    'A pods/exec request (verb create, or get for WebSocket exec) whose command reads Kubernetes credential files: control-plane ' +
    'PKI (/etc/kubernetes/pki), kubelet PKI (/var/lib/kubelet/pki), kubeconfigs, AKS /etc/kubernetes/certs, service-account ' +
    'and workload-identity tokens, also under a host mount such as /host. Readers: cat/head/tail/more/less/sed/awk, base64, xxd, ' +
    'od, strings, dd, cp, openssl, tar (kubectl cp out of a pod), and shell or interpreter scripts that read such a path. ' +
    'Critical when a private key (or a kubeconfig or directory holding one) is read.',
  whyItMatters:
    'These files are the cluster\'s identities. The kubelet client key lets an attacker act as the node from anywhere; the ' +
    'cluster CA key lets them mint any identity, including system:masters. The audit log sees this theft only through the exec ' +
    'command, which the API server records as command= parameters of the request URI.',
  falsePositives: [
    'An operator inspecting certificate expiry on a node-level debug pod (openssl x509 -in …crt is rated high, not critical).',
    'Backup or node-management jobs that exec into privileged pods to copy PKI; list their identities in allowedUsers.',
  ],
  runbook: [
    'Read facts.command and facts.reads: which file, which reader, through which host mount.',
    'Find the pod (facts.pod) and why it can see node files: hostPath volume, privileged with hostPID, node debug pod (see pki-host-mount findings).',
    'If a kubelet key was read: rotate the node (replace it) and watch for node-credential-off-node findings for that ' +
      'node. If the cluster CA or service-account signing key was read: treat the cluster as compromised and rotate the ' +
      'CA / signing key.',
    'If a token was read: find the service account and revoke it (delete the pod for bound tokens, rotate the workload identity).',
    'Review everything else the exec user did (other findings for facts.user, kubectl audit trail).',
  ],
  references: [
    'https://github.com/elastic/detection-rules/blob/main/rules/integrations/cloud_defend/discovery_kubelet_certificate_file_access.toml',
    'https://aquasecurity.github.io/tracee/latest/docs/events/builtin/signatures/kubernetes_certificate_theft_attempt/',
    'https://github.com/elastic/detection-rules/blob/main/rules/integrations/kubernetes/credential_access_kubernetes_pod_exec_sensitive_file_access.toml',
    'https://github.com/panther-labs/panther-analysis/blob/main/rules/kubernetes_rules/k8s_kubectl_cp_operation.yml',
    'https://attack.mitre.org/techniques/T1552/004/',
  ],
  clouds: {
    eks: 'full: the command is in requestURI',
    aks: 'full: the command is in requestURI (kube-audit and kube-audit-admin)',
    gke: 'none: GKE does not log exec commands (no requestURI, no body)',
    k8s: 'full',
  },
  needs: { resources: ['pods'], subresources: ['exec'], verbs: ['create', 'get'] },
  options,
  evaluate(e, ctx) {
    const command = execCommand(e);
    if (command === undefined) return null; // an interactive shell with no command, or GKE: nothing to read
    if (e.user.name !== undefined && ctx.options.allowedUsers.includes(e.user.name)) return null;
    const denied = e.outcome.result === 'failure';
    if (denied && !ctx.options.reportDenied) return null;
    const reads = sensitiveReads(command.argv, { hostMountPrefixes: ctx.options.hostMountPrefixes });
    if (reads.length === 0) return null;
    const key = readsPrivateKey(reads);
    const pod = `${e.target.namespace ?? '?'}/${e.target.name ?? '?'}`;
    const container = e.query?.find(([k]) => k === 'container')?.[1];
    const what = reads.map((r) => `${r.path} (${r.kind}${r.hostPrefix === undefined ? '' : `, host mount ${r.hostPrefix}`})`).join(', ');
    return {
      severity: denied ? 'medium' : key ? 'critical' : 'high',
      summary:
        `${e.user.name ?? 'unknown user'} ${denied ? 'tried to exec' : 'exec\'d'} "${command.argv.join(' ')}" in pod ${pod}` +
        `${e.cluster === undefined ? '' : ` in cluster ${e.cluster}`} from ${e.sourceIPs[0] ?? 'unknown address'}, reading ${what}` +
        `${denied ? ' (denied)' : ''}`,
      facts: {
        user: e.user.name,
        pod,
        container,
        command: command.argv,
        commandSource: command.source,
        privateKey: key,
        denied,
        reads: reads.map((r) => ({ path: r.path, nodePath: r.nodePath, hostPrefix: r.hostPrefix, kind: r.kind, entry: r.entry, reader: r.reader, via: r.via })),
      },
    };
  },
});

/** The suite runs these (`RuleExample`, core/model/rule.ts); kept off the rule, so what builds them never ships. */
export function examples({ asAks, asEks, asGke, k8sEvent, realRecord }: ExampleKit): RuleExample[] {
  const exec = (query: Array<[string, string]>, init: Partial<K8sEventInit> = {}) =>
    k8sEvent({
      verb: 'create', user: 'alice@example.com', resource: 'pods', subresource: 'exec', namespace: 'default', name: 'web-7d4b9c-x2x4p',
      query, level: 'Request', ...init,
    });
  const cmd = (...argv: string[]): Array<[string, string]> => argv.map((a) => ['command', a]);
  const TAIL: Array<[string, string]> = [['container', 'web'], ['stdin', 'true'], ['stdout', 'true'], ['tty', 'true']];
  return [
    {
      name: 'Elastic kubelet-certificate rule: cat of the kubelet client key via exec (EKS)',
      expect: 'critical',
      record: asEks(exec([...cmd('cat', '/var/lib/kubelet/pki/kubelet-client-current.pem'), ...TAIL])),
      cluster: 'eks-prod-1',
      facts: { privateKey: true, command: ['cat', '/var/lib/kubelet/pki/kubelet-client-current.pem'] },
    },
    {
      name: 'Tracee TRC-1018: sh -c "cat /etc/kubernetes/pki/ca.key | base64" (AKS)',
      expect: 'critical',
      record: asAks(exec([...cmd('sh', '-c', 'cat /etc/kubernetes/pki/ca.key | base64'), ...TAIL])),
      facts: { privateKey: true, reads: [{ path: '/etc/kubernetes/pki/ca.key', kind: 'private-key', reader: 'cat', via: ['sh -c'] }] },
    },
    {
      name: 'kubectl cp of /etc/kubernetes/pki out of a pod (tar cf -), WebSocket exec as get (EKS)',
      expect: 'critical',
      record: asEks(exec([...cmd('tar', 'cf', '-', '/etc/kubernetes/pki'), ['container', 'web'], ['stderr', 'true'], ['stdout', 'true']], { verb: 'get' })),
      cluster: 'eks-prod-1',
      facts: { reads: [{ path: '/etc/kubernetes/pki', kind: 'directory', reader: 'tar' }] },
    },
    {
      name: 'same key under the /host mount of a node debug pod, command after container= and stdin= (AKS, AKSAudit row)',
      expect: 'critical',
      record: asAks(
        exec(
          [
            ['container', 'debugger'],
            ['stdin', 'true'],
            ...cmd('cat', '/host/var/lib/kubelet/pki/kubelet-client-current.pem'),
            ['stdout', 'true'],
          ],
          { name: 'node-debugger-aks-nodepool1-31718369-vmss000002-5xk2p' },
        ),
        { form: 'aksaudit' },
      ),
      facts: { reads: [{ hostPrefix: '/host', nodePath: '/var/lib/kubelet/pki/kubelet-client-current.pem' }] },
    },
    {
      name: 'command parameters split around container= and stdin= (EKS)',
      expect: 'critical',
      record: asEks(exec([...cmd('sh'), ['container', 'web'], ...cmd('-c'), ['stdin', 'true'], ...cmd('base64 /etc/kubernetes/certs/client.key')])),
      cluster: 'eks-prod-1',
      facts: { command: ['sh', '-c', 'base64 /etc/kubernetes/certs/client.key'] },
    },
    {
      name: 'service-account token read is high, not critical (AKS AzureDiagnostics row)',
      expect: 'high',
      record: asAks(exec([...cmd('cat', '/var/run/secrets/kubernetes.io/serviceaccount/token'), ...TAIL]), { form: 'azure-diagnostics' }),
    },
    {
      name: 'denied exec that asks for the CA key is reported medium (EKS)',
      expect: 'medium',
      record: asEks(exec([...cmd('cat', '/etc/kubernetes/pki/ca.key'), ...TAIL], { code: 403 })),
      cluster: 'eks-prod-1',
    },
    {
      name: 'benign: cat /etc/resolv.conf (EKS)',
      expect: null,
      record: asEks(exec([...cmd('cat', '/etc/resolv.conf'), ...TAIL])),
      cluster: 'eks-prod-1',
    },
    {
      name: 'benign: ls /var/lib/kubelet lists, reads no key (AKS)',
      expect: null,
      record: asAks(exec([...cmd('ls', '/var/lib/kubelet'), ...TAIL])),
    },
    {
      name: 'benign: interactive shell with no command to judge (EKS)',
      expect: null,
      record: asEks(exec([...cmd('/bin/sh'), ...TAIL])),
      cluster: 'eks-prod-1',
    },
    {
      name: 'GKE exec of the same key: GKE logs no command, so no finding is possible',
      expect: null,
      record: asGke(exec([...cmd('cat', '/var/lib/kubelet/pki/kubelet-client-current.pem'), ...TAIL])),
      note: 'The runtime rules fire on the file read; GKE audit entries carry neither requestURI nor an exec body.',
    },
    {
      name: 'falco capture exec_pod: minikube-user runs bash (real, self-managed)',
      expect: null,
      record: {
        annotations: { 'authorization.k8s.io/decision': 'allow', 'authorization.k8s.io/reason': '' },
        auditID: 'ca1ed9f4-7bf4-4c85-81a8-1b11253d1ba6',
        kind: 'Event',
        level: 'Request',
        metadata: { creationTimestamp: '2018-10-26T13:38:34Z' },
        objectRef: {
          apiVersion: 'v1',
          name: 'nginx-deployment-7998647bdf-phvq7',
          namespace: 'default',
          resource: 'pods',
          subresource: 'exec',
        },
        requestReceivedTimestamp: '2018-10-26T13:38:34.867116Z',
        requestURI: '/api/v1/namespaces/default/pods/nginx-deployment-7998647bdf-phvq7/exec?command=bash&container=nginx1&container=nginx1&stdin=true&stdout=true&tty=true',
        responseStatus: { code: 101, metadata: {} },
        sourceIPs: ['192.168.99.1'],
        stage: 'ResponseStarted',
        stageTimestamp: '2018-10-26T13:38:34.902914Z',
        timestamp: '2018-10-26T13:38:34Z',
        user: { groups: ['system:masters', 'system:authenticated'], username: 'minikube-user' },
        verb: 'create',
      },
      cluster: 'minikube',
      note: 'Falco fires "Attach/Exec Pod" on every exec; this rule judges the command, and bash alone reads nothing.',
    },
    {
      name: 'real GKE capture: engineer execs into a pod (gke-labs/kube-agents human_exec), no command logged',
      expect: null,
      record: realRecord('gke-labs-kube-agents/drift-detector-testdata.jsonl', 2),
      note: 'The source classifies it human, succeeded, not actionable; credwatch agrees for a different reason: GKE gives no command to judge.',
    },
  ];
}
