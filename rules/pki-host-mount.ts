import { posix } from 'node:path';
import * as z from 'zod';
import { SKIPPED_BODY_MARKER, type AuditEvent } from '../core/model/event.js';
import type { K8sEventInit } from '../examples/audit-records.js';
import type { ExampleKit } from './data/example-kit.js';
import { classifyIdentity } from '../core/detection/identity.js';
import { defineRule, type RuleExample } from '../core/model/rule.js';

/** Node directories that hold the kubelet and control-plane credentials (docs/rules-cert-theft.md; Falco sensitive mounts). */
const CREDENTIAL_DIRS: readonly string[] = Object.freeze(['/etc/kubernetes', '/var/lib/kubelet']);

/**
 * kube-controller-manager's per-controller service accounts: they create pods from templates that
 * were already judged when the workload itself was created.
 */
const TEMPLATE_CONTROLLERS: readonly string[] = Object.freeze(
  ['replicaset-controller', 'daemon-set-controller', 'job-controller', 'statefulset-controller', 'cronjob-controller', 'replication-controller', 'deployment-controller']
    .map((c) => `system:serviceaccount:kube-system:${c}`),
);

/** `kubectl debug node/<n>` names its pod `node-debugger-<node>-<suffix>`, with hostPath / at /host and hostPID. */
const NODE_DEBUGGER_NAME = /^node-debugger-/;

const options = z.object({
  /** Host directories whose mounting exposes credentials: a mount over them (or below them) counts. */
  credentialDirs: z.array(z.string().startsWith('/')).default([...CREDENTIAL_DIRS]),
  /** Exact user names allowed to deploy workloads with such mounts (the CI identity that installs node agents). */
  allowedUsers: z.array(z.string()).default([]),
  /** `<namespace>/<name>` prefixes of workloads allowed such mounts (a known node agent). */
  allowedWorkloads: z.array(z.string()).default([]),
});

type Options = z.infer<typeof options>;

interface HostMount {
  volume?: string;
  hostPath: string;
}

const MAX_NODES = 20_000;

/** Every hostPath in a Pod, a pod template, a patch (strategic, merge or JSON patch) or a list of them. */
export function hostPathsIn(body: unknown): HostMount[] {
  const out: HostMount[] = [];
  let budget = MAX_NODES;
  const walk = (v: unknown, depth: number): void => {
    if (budget-- <= 0 || depth > 24 || v === null || typeof v !== 'object') return;
    if (Array.isArray(v)) {
      for (const item of v) walk(item, depth + 1);
      return;
    }
    const o = v as Record<string, unknown>;
    const hp = o['hostPath'];
    if (hp !== null && typeof hp === 'object' && typeof (hp as Record<string, unknown>)['path'] === 'string') {
      const m: HostMount = { hostPath: (hp as Record<string, string>)['path']! };
      if (typeof o['name'] === 'string') m.volume = o['name'];
      out.push(m);
    }
    // JSON patch: {op, path: "/spec/volumes/0/hostPath/path", value: "/"}
    if (typeof o['op'] === 'string' && typeof o['path'] === 'string' && /\/hostPath\/path$/.test(o['path']) && typeof o['value'] === 'string') {
      out.push({ hostPath: o['value'] });
    }
    for (const [k, child] of Object.entries(o)) if (k !== 'hostPath') walk(child, depth + 1);
  };
  walk(body, 0);
  return out;
}

/** True when mounting `hostPath` exposes one of `dirs`: the path is one of them, above one, or below one. */
export function exposesCredentials(hostPath: string, dirs: readonly string[]): boolean {
  let p = posix.normalize(hostPath);
  if (p.length > 1 && p.endsWith('/')) p = p.slice(0, -1);
  return dirs.some((d) => p === '/' || p === d || d.startsWith(`${p}/`) || p.startsWith(`${d}/`));
}

function bodyLogged(e: AuditEvent): boolean {
  return e.requestObject !== undefined && e.requestObject !== null && e.requestObject !== SKIPPED_BODY_MARKER && !e.truncated;
}

export default defineRule<Options>({
  id: 'pki-host-mount',
  title: 'Workload mounts the node\'s credential directories',
  severity: 'high',
  mitre: ['T1611', 'T1552.004'],
  description:
    'A pod, pod template (deployment, daemonset, statefulset, replicaset, job, cronjob) or ephemeral-container update is created ' +
    'or patched with a hostPath volume over /, /etc/kubernetes, /var/lib/kubelet or anything above or below them, or a node debug ' +
    'pod (kubectl debug node/…) is created, by an identity that is not a node, the control plane or a workload controller.',
  whyItMatters:
    'Kubernetes and kubelet certificates live on the node. A pod that mounts those directories can read the kubelet client key ' +
    'and, on control-plane nodes, the cluster CA key: it is the step that makes certificate theft possible, and the only step ' +
    'GKE audit logs show (GKE does not log exec commands).',
  falsePositives: [
    'Node agents (log shippers, security sensors, CSI node plugins) that legitimately mount /var/lib/kubelet or / : allow their installer in allowedUsers or the workload in allowedWorkloads.',
    'Administrators using kubectl debug node/… for troubleshooting: expected, but worth a look each time.',
  ],
  runbook: [
    'Read facts.hostPaths and facts.workload: what was mounted, by whom, in which namespace.',
    'If nobody expected it, delete the workload, then check what ran in it (pki-read-via-exec findings, exec/attach events on its pods).',
    'Treat the nodes it ran on as exposed: rotate their kubelet credentials (replace the nodes).',
    'Enforce Pod Security Admission baseline/restricted (forbids hostPath) in namespaces that do not run node agents.',
  ],
  references: [
    'https://github.com/falcosecurity/plugins/blob/main/plugins/k8saudit/rules/k8s_audit_rules.yaml',
    'https://cloud.google.com/security-command-center/docs/concepts-event-threat-detection-overview',
    'https://kubernetes.io/docs/reference/kubectl/generated/kubectl_debug/',
    'https://github.com/DataDog/stratus-red-team/blob/main/docs/attack-techniques/kubernetes/k8s.privilege-escalation.hostpath-volume.md',
  ],
  clouds: {
    eks: 'full when pod and workload writes are logged at Request level or above (the upstream policy EKS follows logs them at RequestResponse); node debug pods by name otherwise',
    aks: 'full when kube-audit carries request bodies (AKS does not publish its policy); node debug pods by name otherwise',
    gke: 'full: Admin Activity logs carry pod create bodies (request)',
    k8s: 'depends on the audit policy: needs Request level for pods and workloads',
  },
  needs: {
    resources: ['pods', 'deployments', 'daemonsets', 'statefulsets', 'replicasets', 'jobs', 'cronjobs', 'replicationcontrollers', 'podtemplates'],
    subresources: ['', 'ephemeralcontainers'],
    verbs: ['create', 'update', 'patch'],
  },
  options,
  evaluate(e, ctx) {
    const id = classifyIdentity(e.user, ctx.identities);
    // Nodes create mirror pods of static control-plane pods, which mount /etc/kubernetes/pki by design.
    if (id.kind === 'node' || id.kind === 'control-plane' || id.kind === 'system-other') return null;
    if (e.user.name !== undefined && (TEMPLATE_CONTROLLERS.includes(e.user.name) || ctx.options.allowedUsers.includes(e.user.name))) return null;
    const workload = `${e.target.namespace ?? '-'}/${e.target.name ?? '(generated name)'}`;
    if (ctx.options.allowedWorkloads.some((w) => workload.startsWith(w))) return null;
    const logged = bodyLogged(e);
    const mounts = logged ? hostPathsIn(e.requestObject).filter((m) => exposesCredentials(m.hostPath, ctx.options.credentialDirs)) : [];
    const nodeDebugger = e.target.resource === 'pods' && e.verb === 'create' && NODE_DEBUGGER_NAME.test(e.target.name ?? '');
    if (mounts.length === 0 && !nodeDebugger) return null;
    const denied = e.outcome.result === 'failure';
    const kind = e.target.subresource === 'ephemeralcontainers' ? 'pod ephemeral containers' : (e.target.resource ?? 'object').replace(/s$/, '');
    const what = mounts.length > 0 ? `host path ${[...new Set(mounts.map((m) => m.hostPath))].join(', ')}` : 'the node filesystem (node debug pod; request body not logged)';
    return {
      // A denied request mounted nothing; it shows intent, or a chart that admission rejected.
      severity: denied ? 'low' : 'high',
      summary:
        `${e.user.name ?? 'unknown user'} ${denied ? 'tried to ' : ''}${e.verb === 'create' ? (denied ? 'create' : 'created') : denied ? e.verb : `${e.verb}ed`} ` +
        `${kind} ${workload}${e.cluster === undefined ? '' : ` in cluster ${e.cluster}`} mounting ${what} from ${e.sourceIPs[0] ?? 'unknown address'}`,
      facts: {
        user: e.user.name,
        workload,
        resource: e.target.resource,
        subresource: e.target.subresource,
        hostPaths: mounts.map((m) => m.hostPath),
        volumes: mounts.map((m) => m.volume).filter((v) => v !== undefined),
        nodeDebugger,
        bodyLogged: logged,
        denied,
      },
    };
  },
});

/** The suite runs these (`RuleExample`, core/model/rule.ts); kept off the rule, so what builds them never ships. */
export function examples({ asAks, asEks, asGke, k8sEvent }: ExampleKit): RuleExample[] {
  const pod = (volumes: unknown[], extra: Record<string, unknown> = {}) => ({
    apiVersion: 'v1', kind: 'Pod', metadata: { name: 'x' },
    spec: { containers: [{ name: 'c', image: 'busybox', volumeMounts: [{ name: 'h', mountPath: '/host' }] }], volumes, ...extra },
  });
  const create = (init: Partial<K8sEventInit>) =>
    k8sEvent({ verb: 'create', user: 'mallory@example.com', resource: 'pods', namespace: 'default', name: 'x', level: 'RequestResponse', ...init });
  return [
    {
      name: 'pod mounting the node root at /host (EKS, RequestResponse)',
      expect: 'high',
      record: asEks(create({ requestObject: pod([{ name: 'h', hostPath: { path: '/', type: 'Directory' } }], { hostPID: true }) })),
      cluster: 'eks-prod-1',
      facts: { hostPaths: ['/'], volumes: ['h'], bodyLogged: true },
    },
    {
      name: 'daemonset mounting /var/lib/kubelet/pki (AKS)',
      expect: 'high',
      record: asAks(create({
        resource: 'daemonsets', apiGroup: 'apps', namespace: 'kube-system', name: 'node-helper',
        requestObject: { apiVersion: 'apps/v1', kind: 'DaemonSet', spec: { template: { spec: pod([{ name: 'pki', hostPath: { path: '/var/lib/kubelet/pki' } }]).spec } } },
      })),
      facts: { hostPaths: ['/var/lib/kubelet/pki'], resource: 'daemonsets' },
    },
    {
      name: 'cronjob patched (strategic merge) to mount /etc (GKE)',
      expect: 'high',
      record: asGke(create({
        verb: 'patch', resource: 'cronjobs', apiGroup: 'batch', name: 'nightly',
        requestObject: { spec: { jobTemplate: { spec: { template: { spec: { volumes: [{ name: 'etc', hostPath: { path: '/etc' } }] } } } } } },
      })),
      facts: { hostPaths: ['/etc'] },
    },
    {
      name: 'JSON patch swaps a deployment volume to hostPath /etc/kubernetes (EKS)',
      expect: 'high',
      record: asEks(create({
        verb: 'patch',
        resource: 'deployments',
        apiGroup: 'apps',
        name: 'web',
        requestObject: [{ op: 'replace', path: '/spec/template/spec/volumes/0/hostPath/path', value: '/etc/kubernetes' }],
      })),
      cluster: 'eks-prod-1',
    },
    {
      name: 'kubectl debug node/… pod, body not logged (Metadata level): detected by name (GKE)',
      expect: 'high',
      record: asGke(create({ name: 'node-debugger-gke-prod-1-pool-1-abcd1234-node-7xk2p', level: 'Metadata' })),
      facts: { nodeDebugger: true, bodyLogged: false },
    },
    {
      name: 'kubectl debug node/… pod with its body (AKS)',
      expect: 'high',
      record: asAks(create({
        name: 'node-debugger-aks-nodepool1-31718369-vmss000002-5xk2p',
        requestObject: pod([{ name: 'host-root', hostPath: { path: '/' } }], { hostPID: true, hostNetwork: true }),
      })),
      facts: { nodeDebugger: true, hostPaths: ['/'] },
    },
    {
      name: 'pod create denied by admission: low (EKS)',
      expect: 'low',
      record: asEks(create({ code: 403, requestObject: pod([{ name: 'h', hostPath: { path: '/var/lib/kubelet' } }]) })),
      cluster: 'eks-prod-1',
    },
    {
      name: 'benign: hostPath /var/log for a log shipper (EKS)',
      expect: null,
      record: asEks(create({ requestObject: pod([{ name: 'logs', hostPath: { path: '/var/log' } }]) })),
      cluster: 'eks-prod-1',
    },
    {
      name: 'benign: kubelet creates the mirror pod of static kube-apiserver, which mounts /etc/kubernetes/pki (AKS)',
      expect: null,
      record: asAks(create({
        user: 'system:node:cp-1',
        namespace: 'kube-system',
        name: 'kube-apiserver-cp-1',
        userAgent: 'kubelet/v1.30.2 (linux/amd64) kubernetes/3968350',
        requestObject: pod([{ name: 'k8s-certs', hostPath: { path: '/etc/kubernetes/pki' } }]),
      })),
    },
    {
      name: 'benign: replicaset-controller creates a pod from an already-judged template (GKE)',
      expect: null,
      record: asGke(create({
        user: 'system:serviceaccount:kube-system:replicaset-controller',
        userAgent: 'kube-controller-manager/v1.30.2',
        requestObject: pod([{ name: 'h', hostPath: { path: '/' } }]),
      })),
    },
    {
      name: 'benign: ordinary pod create, body not logged and no debug name (EKS)',
      expect: null,
      record: asEks(create({ level: 'Metadata', name: 'web-1' })),
      cluster: 'eks-prod-1',
    },
  ];
}
