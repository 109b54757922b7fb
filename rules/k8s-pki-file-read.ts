import type { RuntimeInit } from '../examples/runtime-records.js';
import type { Severity } from '../core/model/severity.js';
import type { ExampleKit } from './data/example-kit.js';
import { HOST_PROCESS_NOTE, NO_EXEC_NOTE } from '../core/detection/exec-correlation.js';
import { defineRuntimeRule, type RuleExample } from '../core/model/rule.js';
import {
  credentialReadFinding,
  execBehind,
  isCredentialOwner,
  KUBELET_CREDENTIAL_ENTRIES,
  NODE_CREDENTIAL_ENTRIES,
  pathFacts,
  POSSIBLE_READ_NOTE,
  possibleReadOnly,
  runtimeCredentialOptions,
  type RuntimeCredentialOptions,
} from '../core/detection/runtime-credentials.js';
import { classifyPath } from '../core/detection/sensitive-paths.js';

export default defineRuntimeRule<RuntimeCredentialOptions>({
  id: 'k8s-pki-file-read',
  title: 'Kubernetes PKI or kubeconfig opened for reading, or renamed, by a process that does not own it',
  severity: 'high',
  mitre: ['T1552.004', 'T1528'],
  description:
    'Tracee TRC-1018 as written and extended: a runtime sensor (Tracee security_file_open / security_inode_rename, or Falco ' +
    'open/rename events) shows a read-open or a rename of Kubernetes credential files by a process other than kube-apiserver, ' +
    'kubelet, kube-controller-manager, kube-scheduler, etcd or kubeadm. Watched: /etc/kubernetes/pki (kubeadm control plane, EKS ' +
    'node CA), /var/lib/kubelet/pki, AKS /etc/kubernetes/certs, /etc/kubernetes/*.conf, the kubelet and bootstrap kubeconfigs, ' +
    'also through a host mount such as /host. The owner is recognised by the real executable name, so kube-controller-manager ' +
    'is not reported (TRC-1018 compares the executable base name with "kube-controller" and misses it). A rename by an owner ' +
    'inside the credential directories (kubelet certificate rotation) is not reported; a rename out of them always is. ' +
    'Kubelet credentials opened from inside a container are left to kubelet-pki-read-in-container. When the process runs in a ' +
    'pod, the finding names the Kubernetes user whose kubectl exec started it, from the audit log of the same scan.',
  whyItMatters:
    'The cluster CA key lets whoever holds it mint any identity, system:masters included; a kubelet client key or kubeconfig ' +
    'lets an attacker act as the node from anywhere. Audit logs cannot see a file read on a node; the runtime sensor can.',
  falsePositives: [
    'Backup agents or configuration management (Ansible, Chef) reading /etc/kubernetes on control-plane nodes: add their executables to allowedExecutables.',
    'Certificate-expiry exporters that read *.crt files (reported high, not critical, since no key is read).',
  ],
  runbook: [
    'Read facts.path, facts.kind and facts.privateKey: which credential, and whether a private key was exposed.',
    'Read facts.execBy: the Kubernetes user, source IP and user agent of the kubectl exec that started the process; null ' +
      'means none was found in the scan (a compromised workload, or a process on the node itself).',
    'Identify the process (facts.executable, facts.args, facts.parent) and its container or host; isolate the node if the process is unknown.',
    'If a private key was read or renamed away: rotate it (replace the node for kubelet keys; rotate the cluster CA or ' +
      'service-account signing key for control-plane keys) and look for node-credential-off-node findings.',
  ],
  references: [
    'https://aquasecurity.github.io/tracee/latest/docs/events/builtin/signatures/kubernetes_certificate_theft_attempt/',
    'https://github.com/aquasecurity/tracee/blob/main/signatures/golang/kubernetes_certificate_theft_attempt.go',
    'https://falco.org/docs/reference/rules/supported-fields/',
    'https://attack.mitre.org/techniques/T1552/004/',
  ],
  clouds: {
    eks: 'needs a runtime sensor (Tracee or Falco) shipping to CloudWatch Logs; see docs/runtime-sensors.md',
    aks: 'needs a runtime sensor whose stdout Container Insights keeps in ContainerLogV2',
    gke: 'needs a runtime sensor whose stdout GKE keeps in Cloud Logging',
    k8s: 'needs a runtime sensor; its JSON output read as files',
  },
  needs: { resources: ['pods'], subresources: ['exec'], verbs: ['create', 'get'], runtime: { operations: ['open-read', 'rename'] } },
  options: runtimeCredentialOptions,
  evaluate(e, ctx) {
    const path = e.rename?.from ?? e.file?.path;
    if (path === undefined) return null;
    const m = classifyPath(path, { hostMountPrefixes: ctx.options.hostMountPrefixes });
    if (m === undefined || !NODE_CREDENTIAL_ENTRIES.has(m.entry)) return null;
    if (e.container !== undefined && KUBELET_CREDENTIAL_ENTRIES.has(m.entry)) return null; // kubelet-pki-read-in-container reports it
    const owner = isCredentialOwner(e, ctx.options.allowedExecutables);
    let renamedTo: string | null = null;
    if (e.verb === 'rename') {
      renamedTo = e.rename?.to ?? null;
      const stays = renamedTo !== null && classifyPath(renamedTo, { hostMountPrefixes: ctx.options.hostMountPrefixes }) !== undefined;
      if (owner && stays) return null; // the owner rotating its own certificate
    } else if (owner) {
      return null; // the owner reading its own credentials
    }
    const c = execBehind(e, ctx);
    // The sensor saw the attempt but the kernel refused it (ENOENT, EACCES): nothing was read.
    const failed = e.outcome === 'failure';
    const action = failed
      ? `tried to ${e.verb === 'rename' ? `rename ${path}` : `open ${path}`} and failed`
      : e.verb === 'rename'
        ? `renamed ${path} to ${renamedTo ?? '?'}`
        : possibleReadOnly(e)
          ? `opened ${path} (possibly for reading: the sensor did not say)`
          : `opened ${path} for reading`;
    return credentialReadFinding(e, c, {
      failed,
      privateKey: m.privateKey,
      summary: `${e.process.name}${e.process.executable === undefined ? '' : ` (${e.process.executable})`} ${action}`,
      facts: { ...pathFacts(m), renamedTo },
    });
  },
});

/** The suite runs these (`RuleExample`, core/model/rule.ts); kept off the rule, so what builds them never ships. */
export function examples({
  asAks, asCloudLoggingContainer, asContainerLogV2, asEks, asFluentBitCloudWatch, falcoOpen, falcoRename,
  falcoStockOpen, k8sEvent, traceeNextOpen, traceeOpen, traceeRename,
}: ExampleKit): RuleExample[] {
  const host = (comm: string, exe: string, init: Partial<RuntimeInit> = {}): RuntimeInit => ({ comm, exe, container: null, ...init });
  const O_RDONLY = 32768; // O_RDONLY | O_LARGEFILE, as Tracee prints the raw int
  const O_WRONLY_CREAT_TRUNC = 577;
  /** One TRC-1018 case as each sensor reports it: Tracee prints open flags as the raw int, Falco by name. */
  const SENSORS = [
    { sensor: 'Tracee', rename: traceeRename, writeOnly: (i: RuntimeInit, path: string) => traceeOpen(i, path, O_WRONLY_CREAT_TRUNC) },
    { sensor: 'Falco', rename: falcoRename, writeOnly: (i: RuntimeInit, path: string) => falcoOpen(i, path, 'O_WRONLY|O_CREAT|O_TRUNC') },
  ] as const;
  const onBothSensors = (what: string, expect: Severity | null, record: (s: (typeof SENSORS)[number]) => unknown, facts?: Record<string, unknown>) =>
    SENSORS.map((s): RuleExample => ({ name: `TRC-1018 (${s.sensor}): ${what}`, expect, record: record(s), ...(facts === undefined ? {} : { facts }) }));
  return [
    {
      name: 'TRC-1018 (Tracee): a process on the node reads /etc/kubernetes/pki/ca.key',
      expect: 'critical',
      record: traceeOpen(host('exfil', '/tmp/.x/exfil'), '/etc/kubernetes/pki/ca.key', O_RDONLY),
      cluster: 'kubeadm-1',
      facts: { path: '/etc/kubernetes/pki/ca.key', kind: 'private-key', process: 'exfil', execBy: null, note: HOST_PROCESS_NOTE },
    },
    {
      name: 'TRC-1018 (Falco): a process on the node reads /etc/kubernetes/pki/ca.key',
      expect: 'critical',
      record: falcoOpen(host('exfil', '/tmp/.x/exfil'), '/etc/kubernetes/pki/ca.key', 'O_RDONLY|O_CLOEXEC'),
      cluster: 'kubeadm-1',
      facts: { path: '/etc/kubernetes/pki/ca.key', privateKey: true, sensor: 'falco' },
    },
    {
      name: 'Falco stock rule "Read sensitive file trusted after startup" (evt.type and fd.name only) on ca.key: read, from the rule',
      expect: 'critical',
      record: falcoStockOpen(host('httpd', '/bin/event-generator'), '/etc/kubernetes/pki/ca.key', 'Read sensitive file trusted after startup'),
      facts: { path: '/etc/kubernetes/pki/ca.key', openAccess: 'sensor-rule', sensor: 'falco' },
    },
    {
      name: 'Falco stock rule on ca.key that failed (evt.res ENOENT): the attempt is medium, nothing was read',
      expect: 'medium',
      record: falcoStockOpen(host('cat', '/usr/bin/cat'), '/etc/kubernetes/pki/ca.key', undefined, { 'evt.res': 'ENOENT', 'evt.failed': true }),
      facts: { outcome: 'failure', path: '/etc/kubernetes/pki/ca.key' },
    },
    {
      name: 'Falco stock rule "Write below etc" on ca.key: a write, no alert',
      expect: null,
      record: falcoStockOpen(host('vi', '/usr/bin/vi'), '/etc/kubernetes/pki/ca.key', 'Write below etc'),
    },
    {
      name: 'Falco rule unknown to credwatch, no flags, on admin.conf: a possible read, reported with the uncertainty',
      expect: 'critical',
      record: falcoStockOpen(host('python3', '/usr/bin/python3'), '/etc/kubernetes/admin.conf', 'acme: kubeconfig touched'),
      facts: { openAccess: 'unknown', uncertainty: POSSIBLE_READ_NOTE, entry: 'kubeadm-admin-kubeconfigs' },
    },
    {
      name: 'Tracee next format (security_file_open, data pathname/flags): a node process reads ca.key',
      expect: 'critical',
      record: traceeNextOpen(host('exfil', '/tmp/.x/exfil'), '/etc/kubernetes/pki/ca.key', 'O_RDONLY|O_LARGEFILE'),
      facts: { path: '/etc/kubernetes/pki/ca.key', openAccess: 'flags', sensor: 'tracee' },
    },
    {
      name: 'Tracee next format: write-only open of ca.key (flags as int32): no alert',
      expect: null,
      record: traceeNextOpen(host('exfil', '/tmp/.x/exfil'), '/etc/kubernetes/pki/ca.key', O_WRONLY_CREAT_TRUNC),
    },
    {
      name: 'TRC-1018 (Tracee): kubelet reads its own client certificate: no alert',
      expect: null,
      record: traceeOpen(host('kubelet', '/usr/bin/kubelet'), '/var/lib/kubelet/pki/kubelet-client-current.pem', O_RDONLY),
    },
    {
      name: 'TRC-1018 (Falco): kube-apiserver reads its serving key: no alert',
      expect: null,
      record: falcoOpen(host('kube-apiserver', '/usr/local/bin/kube-apiserver'), '/etc/kubernetes/pki/apiserver.key', 'O_RDONLY|O_CLOEXEC'),
    },
    {
      name: 'kube-controller-manager (comm cut to kube-controller) reads ca.key: no alert (Tracee)',
      expect: null,
      record: traceeOpen(host('kube-controller', '/usr/local/bin/kube-controller-manager'), '/etc/kubernetes/pki/ca.key', O_RDONLY),
      note: "TRC-1018's Go detector compares the executable's base name with \"kube-controller\" and fires here; credwatch matches the real name.",
    },
    ...onBothSensors('write-only open of ca.key: no alert', null, (s) => s.writeOnly(host('exfil', '/tmp/.x/exfil'), '/etc/kubernetes/pki/ca.key')),
    ...onBothSensors(
      'ca.key renamed out of the PKI directory',
      'critical',
      (s) => s.rename(host('mv', '/usr/bin/mv'), '/etc/kubernetes/pki/ca.key', '/tmp/ca.key'),
      { operation: 'rename', renamedTo: '/tmp/ca.key' },
    ),
    {
      name: 'kubelet rotates its client certificate inside /var/lib/kubelet/pki: no alert (Falco)',
      expect: null,
      record: falcoRename(host('kubelet', '/usr/bin/kubelet'), '/var/lib/kubelet/pki/kubelet-client-current.pem.tmp', '/var/lib/kubelet/pki/kubelet-client-current.pem'),
    },
    {
      name: 'EKS (Tracee via Fluent Bit to CloudWatch): a node process reads the kubelet kubeconfig',
      expect: 'high',
      record: asFluentBitCloudWatch(traceeOpen(host('python3', '/usr/bin/python3.11'), '/var/lib/kubelet/kubeconfig', O_RDONLY)),
      cluster: 'eks-prod-1',
      facts: { entry: 'kubelet-kubeconfig', privateKey: false, node: 'ip-10-0-1-7.ec2.internal' },
    },
    {
      name: 'EKS (Tracee via Fluent Bit to CloudWatch): kubelet reads its kubeconfig: no alert',
      expect: null,
      record: asFluentBitCloudWatch(traceeOpen(host('kubelet', '/usr/bin/kubelet'), '/var/lib/kubelet/kubeconfig', O_RDONLY)),
      cluster: 'eks-prod-1',
    },
    {
      name: 'EKS chain: alice execs into a pod with the node filesystem at /host, then cat reads the cluster CA key (Falco)',
      expect: 'critical',
      records: [
        asEks(k8sEvent({
          verb: 'create',
          user: 'alice@example.com',
          resource: 'pods',
          subresource: 'exec',
          namespace: 'default',
          name: 'web-7d4b9c-x2x4p',
          query: [['command', 'sh'], ['container', 'web'], ['stdin', 'true'], ['stdout', 'true'], ['tty', 'true']],
        })),
        asFluentBitCloudWatch(falcoOpen({ comm: 'cat', exe: '/bin/cat', argv: ['cat', '/host/etc/kubernetes/pki/ca.key'], tty: true }, '/host/etc/kubernetes/pki/ca.key', 'O_RDONLY')),
      ],
      cluster: 'eks-prod-1',
      facts: { hostPrefix: '/host', nodePath: '/etc/kubernetes/pki/ca.key', execBy: { user: 'alice@example.com', sourceIPs: ['203.0.113.24'], tty: true } },
    },
    {
      name: 'GKE (Falco, Cloud Logging jsonPayload): a node process reads the bootstrap kubeconfig',
      expect: 'high',
      record: asCloudLoggingContainer(falcoOpen(host('curl', '/usr/bin/curl'), '/var/lib/kubelet/bootstrap-kubeconfig', 'O_RDONLY')),
      facts: { entry: 'bootstrap-kubeconfigs' },
    },
    {
      name: 'GKE (Tracee, Cloud Logging textPayload): kubelet reads its client certificate: no alert',
      expect: null,
      record: asCloudLoggingContainer(traceeOpen(host('kubelet', '/home/kubernetes/bin/kubelet'), '/var/lib/kubelet/pki/kubelet-client-current.pem', O_RDONLY), { text: true }),
    },
    {
      name: 'AKS (Tracee, ContainerLogV2): a node process reads /etc/kubernetes/certs/client.key',
      expect: 'critical',
      record: asContainerLogV2(traceeOpen(host('tar', '/usr/bin/tar'), '/etc/kubernetes/certs/client.key', O_RDONLY)),
      facts: { entry: 'aks-node-certs', node: 'aks-nodepool1-31718369-vmss000002' },
    },
    {
      name: 'AKS (Falco, ContainerLogV2 as a string): kubelet reads /etc/kubernetes/certs/kubeletserver.key: no alert',
      expect: null,
      record: asContainerLogV2(falcoOpen(host('kubelet', '/usr/local/bin/kubelet'), '/etc/kubernetes/certs/kubeletserver.key', 'O_RDONLY|O_CLOEXEC'), { asString: true }),
    },
    {
      name: 'in-container read of ca.crt with no exec in the scan: a workload, not a person (AKS, Falco)',
      expect: 'high',
      record: asContainerLogV2(falcoOpen({ comm: 'python3', exe: '/usr/local/bin/python3.12', argv: ['python3', 'app.py'] }, '/etc/kubernetes/pki/ca.crt', 'O_RDONLY')),
      facts: { kind: 'certificate', execBy: null, note: NO_EXEC_NOTE },
    },
    {
      name: 'AKS chain (AKSAudit row then ContainerLogV2): bob execs, then head reads /host/etc/kubernetes/certs/client.key (Tracee)',
      expect: 'critical',
      records: [
        asAks(
          k8sEvent({
            verb: 'get',
            user: 'bob@example.com',
            resource: 'pods',
            subresource: 'exec',
            namespace: 'default',
            name: 'web-7d4b9c-x2x4p',
            sourceIPs: ['198.51.100.7'],
            query: [['command', 'bash'], ['container', 'web'], ['stdin', 'true'], ['tty', 'true']],
          }),
          { form: 'aksaudit' },
        ),
        asContainerLogV2(traceeOpen({ comm: 'head', exe: '/usr/bin/head' }, '/host/etc/kubernetes/certs/client.key', O_RDONLY)),
      ],
      facts: { execBy: { user: 'bob@example.com', sourceIPs: ['198.51.100.7'] } },
    },
  ];
}
