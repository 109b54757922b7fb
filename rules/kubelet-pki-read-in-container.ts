import type { K8sEventInit } from '../examples/audit-records.js';
import type { RuntimeInit } from '../examples/runtime-records.js';
import type { ExampleKit } from './data/example-kit.js';
import { readsPrivateKey, sensitiveReads } from '../core/detection/exec-command.js';
import { NO_EXEC_NOTE } from '../core/detection/exec-correlation.js';
import { defineRuntimeRule, type RuleExample } from '../core/model/rule.js';
import {
  credentialReadFinding,
  execBehind,
  isCredentialOwner,
  KUBELET_CREDENTIAL_ENTRIES,
  POSSIBLE_READ_NOTE,
  possibleReadOnly,
  runtimeCredentialOptions,
  type RuntimeCredentialOptions,
} from '../core/detection/runtime-credentials.js';
import { classifyPath } from '../core/detection/sensitive-paths.js';

const ALICE = { user: 'alice@example.com', sourceIPs: ['203.0.113.24'], userAgent: 'kubectl/v1.30.2 (linux/amd64) kubernetes/3968350' };

export default defineRuntimeRule<RuntimeCredentialOptions>({
  id: 'kubelet-pki-read-in-container',
  title: 'Kubelet certificate, key or kubeconfig read from inside a container',
  severity: 'high',
  mitre: ['T1552.004', 'T1613'],
  description:
    'The Elastic rule "Kubelet Certificate File Access Detected via Defend for Containers" on Defend for Containers, Tracee or Falco events: a process ' +
    'in a container opens a file under /var/lib/kubelet/pki (or the kubelet and bootstrap kubeconfigs), also through a host ' +
    'mount such as /host; or a program starts whose arguments read such a file: cat, head, tail, more, less, sed, awk as in the ' +
    'Elastic rule, plus every reader core/detection/exec-command.ts knows (base64, xxd, od, strings, dd, cp, tar, openssl, curl, shell -c scripts…). ' +
    'Unlike the Elastic rule, an interactive terminal is not required (Elastic dropped that clause too, detection-rules PR #6518, and ' +
    'Tracee file events carry no terminal): facts.tty says whether one was attached. A read-only open counts, which the Elastic rule\'s ' +
    'sensor cannot see. The finding names the Kubernetes user whose kubectl exec started the process, from the same scan\'s ' +
    'audit log, or says that none was found.',
  whyItMatters:
    'The kubelet client key authenticates as system:node:<name> from anywhere: a pod that can read it (hostPath, privileged ' +
    'debug pod) has become the node. A person at a shell doing it is the classic kubectl-exec theft; a workload doing it with ' +
    'no exec behind it is a compromised container.',
  falsePositives: [
    'An SRE inspecting the kubelet certificate from a node debug pod during an incident: the finding names them (facts.execBy).',
    'Node agents running in privileged DaemonSets that read kubelet credentials by design (monitoring, CNI): add their executables to allowedExecutables.',
  ],
  runbook: [
    'Read facts.execBy: who ran kubectl exec into this container, from which address and client; null means no exec was found in the scan.',
    'Identify the pod (facts.pod) and why it can see node files: hostPath /var/lib/kubelet, privileged with hostPID, a node debug pod.',
    'If facts.privateKey is true: replace the node (its kubelet key is exposed) and watch for node-credential-off-node findings for that node.',
    'Review what else the exec user did, and remove the hostPath or privileged access from the workload.',
  ],
  references: [
    'https://github.com/elastic/detection-rules/blob/main/rules/integrations/cloud_defend/discovery_kubelet_certificate_file_access.toml',
    'https://github.com/falcosecurity/falco/issues/2895',
    'https://github.com/falcosecurity/plugins/issues/313',
    'https://attack.mitre.org/techniques/T1552/004/',
  ],
  clouds: {
    eks: 'needs a runtime sensor (Tracee or Falco) shipping to CloudWatch Logs; see docs/runtime-sensors.md',
    aks: 'needs a runtime sensor whose stdout Container Insights keeps in ContainerLogV2',
    gke: 'needs a runtime sensor whose stdout GKE keeps in Cloud Logging (exec correlation by pod only: GKE logs no container)',
    k8s: 'needs a runtime sensor; its JSON output read as files',
  },
  needs: { resources: ['pods'], subresources: ['exec'], verbs: ['create', 'get'], runtime: { operations: ['open-read', 'exec'] } },
  options: runtimeCredentialOptions,
  evaluate(e, ctx) {
    if (e.container === undefined) return null; // a process on the node: k8s-pki-file-read reports it
    if (isCredentialOwner(e, ctx.options.allowedExecutables)) return null; // kubelet in a container (kind, k3d nodes)
    const hostMountPrefixes = ctx.options.hostMountPrefixes;
    let reads;
    if (e.verb === 'exec') {
      if (e.process.args.length === 0) return null;
      reads = sensitiveReads(e.process.args, { hostMountPrefixes }).filter((r) => KUBELET_CREDENTIAL_ENTRIES.has(r.entry));
    } else {
      const m = e.file === undefined ? undefined : classifyPath(e.file.path, { hostMountPrefixes });
      reads = m === undefined || !KUBELET_CREDENTIAL_ENTRIES.has(m.entry) ? [] : [{ ...m, reader: e.process.name, via: [] }];
    }
    if (reads.length === 0) return null;
    const c = execBehind(e, ctx);
    const key = readsPrivateKey(reads);
    const tty = e.process.tty ?? c.facts.execBy?.tty ?? null;
    // The sensor saw the attempt but the kernel refused it (ENOENT, EACCES): nothing was read.
    const failed = e.outcome === 'failure';
    const what = reads.map((r) => r.path).join(', ');
    const did = failed
      ? e.verb === 'exec' ? 'failed to start on' : 'failed to open'
      : e.verb === 'exec' ? 'started, reading' : possibleReadOnly(e) ? 'opened (possibly for reading)' : 'opened';
    return credentialReadFinding(e, c, {
      failed,
      privateKey: key,
      summary: `${e.verb === 'exec' ? `"${e.process.args.join(' ')}"` : e.process.name} ${did} ${what}`,
      afterWhere: tty === true ? ' with a terminal' : '',
      facts: {
        privateKey: key,
        reads: reads.map((r) => ({ path: r.path, nodePath: r.nodePath, hostPrefix: r.hostPrefix ?? null, kind: r.kind, entry: r.entry, reader: r.reader, via: r.via })),
        interactive: tty,
      },
    });
  },
});

/** The suite runs these (`RuleExample`, core/model/rule.ts); kept off the rule, so what builds them never ships. */
export function examples({
  asAks, asCloudLoggingContainer, asContainerLogV2, asEks, asFluentBitCloudWatch, asGke, asSearchHit,
  cloudDefendExec, cloudDefendFileOpen, falcoExec, falcoOpen, falcoStockOpen, k8sEvent, traceeExec,
  traceeNextExec, traceeOpen,
}: ExampleKit): RuleExample[] {
  const KEY = '/var/lib/kubelet/pki/kubelet-client-current.pem';
  const shell = (argv: string[], init: Partial<RuntimeInit> = {}): RuntimeInit => ({ comm: argv[0]!, exe: `/usr/bin/${argv[0]!}`, argv, tty: true, ...init });
  const exec = (init: Partial<K8sEventInit> = {}) =>
    k8sEvent({
      verb: 'create', user: 'alice@example.com', resource: 'pods', subresource: 'exec', namespace: 'default', name: 'web-7d4b9c-x2x4p',
      query: [['command', 'sh'], ['container', 'web'], ['stdin', 'true'], ['stdout', 'true'], ['tty', 'true']], ...init,
    });
  return [
    {
      name: 'Elastic rule (Tracee exec): cat of the kubelet client key in an interactive container',
      expect: 'critical',
      record: traceeExec(shell(['cat', KEY])),
      facts: { operation: 'exec', interactive: true, reads: [{ path: KEY, kind: 'private-key', reader: 'cat' }], execBy: null, note: NO_EXEC_NOTE },
    },
    {
      name: 'Elastic rule (Falco exec): cat of the kubelet client key in an interactive container',
      expect: 'critical',
      record: falcoExec(shell(['cat', KEY])),
      facts: { interactive: true, sensor: 'falco', pod: 'default/web-7d4b9c-x2x4p' },
    },
    {
      name: 'Elastic rule (Tracee file open): cat opens the kubelet client key read-only',
      expect: 'critical',
      record: traceeOpen(shell(['cat', KEY]), KEY, 32768),
      facts: { operation: 'open-read', reads: [{ path: KEY, entry: 'kubelet-pki' }] },
      note: 'The Elastic rule\'s sensor logs no read-only open; Tracee and Falco do.',
    },
    {
      name: 'Elastic rule (Falco exec): head of the key',
      expect: 'critical',
      record: falcoExec(shell(['head', '-c', '2048', KEY])),
      facts: { reads: [{ reader: 'head' }] },
    },
    {
      name: 'Elastic rule (Tracee exec): awk of the key',
      expect: 'critical',
      record: traceeExec(shell(['awk', '1', KEY])),
      facts: { reads: [{ reader: 'awk' }] },
    },
    {
      name: 'Elastic rule (Falco exec): sed of the key without a terminal (the Elastic rule required one; reported, interactive false)',
      expect: 'critical',
      record: falcoExec(shell(['sed', '-n', 'p', KEY], { tty: false })),
      facts: { interactive: false },
    },
    {
      name: 'another reader: base64 of the kubelet certificate through the /host mount is high (Tracee)',
      expect: 'high',
      record: traceeExec(shell(['base64', '/host/var/lib/kubelet/pki/kubelet.crt'])),
      facts: { privateKey: false, reads: [{ hostPrefix: '/host', nodePath: '/var/lib/kubelet/pki/kubelet.crt', kind: 'certificate' }] },
    },
    {
      name: 'sh -c "tar cf - /var/lib/kubelet/pki | base64" (Falco exec of sh)',
      expect: 'critical',
      record: falcoExec(shell(['sh', '-c', 'tar cf - /var/lib/kubelet/pki | base64'])),
      note: 'Falco joins argv with spaces; the parser keeps everything after -c together as the script.',
    },
    {
      name: 'Elastic rule (D4C, file branch): an interactive process opens the kubelet client key',
      expect: 'critical',
      record: cloudDefendFileOpen(shell(['vi', KEY]), KEY),
      facts: { sensor: 'cloud-defend', operation: 'open-read', interactive: true, openAccess: 'unknown', uncertainty: POSSIBLE_READ_NOTE, pod: 'default/web-7d4b9c-x2x4p' },
      note: 'D4C logs an open only with write intent and never says whether it also read: a possible read, as the Elastic rule counts it.',
    },
    {
      name: 'Elastic rule (D4C, exec branch): cat of the kubelet client key in an interactive container',
      expect: 'critical',
      record: cloudDefendExec(shell(['cat', KEY])),
      facts: { sensor: 'cloud-defend', operation: 'exec', interactive: true, reads: [{ path: KEY, reader: 'cat' }] },
    },
    {
      name: 'Elastic rule (D4C, exec branch): /usr/bin/tail of the kubelet certificate, as an Elasticsearch search hit',
      expect: 'high',
      record: asSearchHit(cloudDefendExec(shell(['/usr/bin/tail', '-n', '20', '/var/lib/kubelet/pki/kubelet.crt']))),
      facts: { reads: [{ path: '/var/lib/kubelet/pki/kubelet.crt', kind: 'certificate' }] },
    },
    {
      name: 'Elastic rule (D4C, exec branch): less, more, head and sed of the key (one exec each)',
      expect: 'critical',
      records: [
        cloudDefendExec(shell(['less', KEY])),
        cloudDefendExec(shell(['more', KEY])),
        cloudDefendExec(shell(['/bin/head', '-c', '64', KEY])),
        cloudDefendExec(shell(['sed', '-n', '1p', KEY])),
      ],
    },
    {
      name: 'Elastic D4C: cat /etc/hostname in an interactive container: no alert',
      expect: null,
      record: cloudDefendExec(shell(['cat', '/etc/hostname'])),
    },
    {
      name: 'Elastic D4C: open of /etc/hosts: no alert',
      expect: null,
      record: cloudDefendFileOpen(shell(['vi', '/etc/hosts']), '/etc/hosts'),
    },
    {
      name: 'EKS chain: alice execs into web, then D4C sees cat read the kubelet key (search hit)',
      expect: 'critical',
      records: [asEks(exec()), asSearchHit(cloudDefendExec(shell(['cat', KEY])))],
      cluster: 'eks-prod-1',
      facts: { sensor: 'cloud-defend', execBy: { ...ALICE, container: 'web', tty: true } },
      note: 'D4C names no container, so the pod alone ties the read to the exec.',
    },
    {
      name: 'Tracee next format (sched_process_exec with data/str_array): cat of the kubelet key',
      expect: 'critical',
      record: traceeNextExec(shell(['cat', KEY])),
      facts: { sensor: 'tracee', operation: 'exec', pod: 'default/web-7d4b9c-x2x4p', reads: [{ path: KEY }] },
    },
    {
      name: 'Falco stock rule "Read sensitive file untrusted" (no flags printed) on the kubelet key: the rule says read',
      expect: 'critical',
      record: falcoStockOpen(shell(['cat', KEY]), KEY),
      facts: { sensor: 'falco', operation: 'open-read', openAccess: 'sensor-rule' },
    },
    {
      name: 'Falco custom rule without flags on the kubelet key: a possible read, the uncertainty stated',
      expect: 'critical',
      record: falcoStockOpen(shell(['cat', KEY]), KEY, 'acme: kubelet directory touched'),
      facts: { openAccess: 'unknown', uncertainty: POSSIBLE_READ_NOTE },
    },
    {
      name: 'Falco stock rule "Write below etc"-style write rule on a kubelet path: a write, no alert',
      expect: null,
      record: falcoStockOpen(shell(['tee', '/var/lib/kubelet/pki/x.pem']), '/var/lib/kubelet/pki/x.pem', 'Write below root'),
    },
    {
      name: 'cat /etc/hostname in a container: no alert (Tracee)',
      expect: null,
      record: traceeExec(shell(['cat', '/etc/hostname'])),
    },
    {
      name: 'write-only open under /var/lib/kubelet/pki from a container: no alert (Falco)',
      expect: null,
      record: falcoOpen(shell(['tee', '/var/lib/kubelet/pki/x.pem']), '/var/lib/kubelet/pki/x.pem', 'O_WRONLY|O_CREAT|O_TRUNC'),
    },
    {
      name: 'kubelet in a kind node container reads its own key: no alert (Tracee)',
      expect: null,
      record: traceeOpen({ comm: 'kubelet', exe: '/usr/bin/kubelet', container: { id: 'a1b2c3d4e5f6', name: 'kind-control-plane', image: 'kindest/node:v1.30.0' } }, KEY, 32768),
    },
    {
      name: 'a process on the host (no container) reading the key is left to k8s-pki-file-read (Falco)',
      expect: null,
      record: falcoExec(shell(['cat', KEY], { container: null })),
    },
    {
      name: 'EKS chain (CloudWatch): alice execs into web, then cat reads the kubelet key (Tracee via Fluent Bit)',
      expect: 'critical',
      records: [asEks(exec()), asFluentBitCloudWatch(traceeExec(shell(['cat', KEY])))],
      cluster: 'eks-prod-1',
      facts: { execBy: { ...ALICE, container: 'web', tty: true, command: ['sh'] } },
    },
    {
      name: 'EKS chain, logs out of order: the read arrives before the exec and is still tied to it (Falco via Fluent Bit)',
      expect: 'critical',
      records: [asFluentBitCloudWatch(falcoExec(shell(['cat', KEY]))), asEks(exec())],
      cluster: 'eks-prod-1',
      facts: { execBy: ALICE },
    },
    {
      name: 'EKS (CloudWatch): cat /etc/hostname after an exec: no alert (Tracee)',
      expect: null,
      records: [asEks(exec()), asFluentBitCloudWatch(traceeExec(shell(['cat', '/etc/hostname'])))],
      cluster: 'eks-prod-1',
    },
    {
      name: 'exec into another container of the pod is not the origin (EKS, Tracee)',
      expect: 'critical',
      records: [asEks(exec({ query: [['command', 'sh'], ['container', 'sidecar'], ['stdin', 'true'], ['tty', 'true']] })), asFluentBitCloudWatch(traceeExec(shell(['cat', KEY])))],
      cluster: 'eks-prod-1',
      facts: { execBy: null, note: NO_EXEC_NOTE },
    },
    {
      name: 'GKE chain (Cloud Logging jsonPayload): exec into the pod, then head reads the key (Falco)',
      expect: 'critical',
      records: [asGke(exec()), asCloudLoggingContainer(falcoExec(shell(['head', KEY])))],
      facts: { execBy: { user: 'alice@example.com', container: null } },
      note: 'GKE logs no container for exec, so the pod alone ties the two.',
    },
    {
      name: 'GKE (Cloud Logging textPayload): cat /etc/hostname: no alert (Tracee)',
      expect: null,
      record: asCloudLoggingContainer(traceeExec(shell(['cat', '/etc/hostname'])), { text: true }),
    },
    {
      name: 'AKS chain (AKSAudit row, then ContainerLogV2): exec, then awk reads the key (Tracee)',
      expect: 'critical',
      records: [asAks(exec(), { form: 'aksaudit' }), asContainerLogV2(traceeExec(shell(['awk', '1', KEY])))],
      facts: { execBy: { user: 'alice@example.com', container: 'web' } },
    },
    {
      name: 'AKS (ContainerLogV2): cat /etc/hostname: no alert (Falco)',
      expect: null,
      record: asContainerLogV2(falcoExec(shell(['cat', '/etc/hostname'])), { asString: true }),
    },
  ];
}
