import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { readInputs } from '../../adapters/file/read.js';
import type { AuditEvent } from '../../core/model/event.js';
import type { ParseOutcome } from '../../core/model/parse-result.js';

/**
 * Every file of the vendored real records (test/fixtures/real, sources in its PROVENANCE.md) read as the CLI reads it. Per file: events, skipped
 * records and rejections by reason, and nothing lost (records = events + skipped + rejected).
 * Why the rejections are what they are:
 * - Panther's unified k8s_* fixtures are hand-written without any timestamp (missing-field), and
 *   six aws_eks_anonymous_api_access lines are Panther-normalised events without a verb;
 * - Panther's gcp_k8s_exec_into_pod entries have no serviceName (not a k8s.io audit entry: skipped);
 * - kube-agents line 3 is a scanner's junk path core/templates/preview (unsupported-resource-path);
 * - falco fal_01_003 is the deliberate malformed input {"kind": 0};
 * - YAML is not read (unknown-shape, one per file); the same KHI entries are in the .jsonl.
 * Runtime sensor records count as events too; skipped among them:
 * - Tracee's docs print an `openat` and a `read` event, which credwatch does not read;
 * - Elastic's cloud_defend sample is a blocked-process alert, not a file open or an exec;
 * - Falcosidekick's test alert names no file or process action, and its other input is Falco's own
 *   "syscall event drop" health alert (sensor-internal).
 */
const CORPUS = new URL('../fixtures/real/', import.meta.url);

type Row = [file: string, events: number, skipped: Record<string, number>, rejected: Record<string, number>];
const EXPECTED: Row[] = [
  ['aquasecurity-tracee/docs-current-format.jsonl', 4, {'other-category': 2}, {}],
  ['aquasecurity-tracee/docs-next-format.jsonl', 1, {}, {}],
  ['derived-variants/cloud-defend-kubelet-key.jsonl', 3, {'other-category': 1}, {}],
  ['derived-variants/falco-elastic-sample-pki-paths.jsonl', 5, {}, {}],
  ['derived-variants/tracee-docs-pki-paths.jsonl', 3, {}, {}],
  ['derived-variants/tracee-next-format.jsonl', 3, {}, {}],
  ['elastic-integrations/cloud_defend_alerts_sample_event.jsonl', 0, {'other-category': 1}, {}],
  ['elastic-integrations/falco_falco_alerts_test-falco.jsonl', 17, {}, {}],
  ['elastic-integrations/gcp_audit_test-audit_k8s-subset.jsonl', 5, {}, {}],
  ['elastic-integrations/gcp_audit_test-k8s-nonmatching-resourcename.jsonl', 1, {}, {}],
  ['elastic-integrations/kubernetes_audit_logs_test-audit.jsonl', 5, {}, {}],
  ['elastic-integrations/kubernetes_audit_logs_test-kube-audit.jsonl', 1, {}, {}],
  ['falcosecurity-falco/anonymous_creates_namespace_foo.jsonl', 1, {}, {}],
  ['falcosecurity-falco/attach_pod.jsonl', 1, {}, {}],
  ['falcosecurity-falco/create_cluster_role_pod_exec.jsonl', 1, {}, {}],
  ['falcosecurity-falco/create_kube_system_secret.jsonl', 1, {}, {}],
  ['falcosecurity-falco/create_secret.jsonl', 1, {}, {}],
  ['falcosecurity-falco/create_service_account_token_secret.jsonl', 1, {}, {}],
  ['falcosecurity-falco/delete_secret.jsonl', 1, {}, {}],
  ['falcosecurity-falco/exec_pod.jsonl', 1, {}, {}],
  ['falcosecurity-falco/fal_01_003.jsonl', 0, {}, {'unknown-shape': 1}],
  ['falcosecurity-falcosidekick/outputs-test-inputs.jsonl', 0, {'other-category': 1, 'sensor-internal': 1}, {}],
  ['gke-labs-kube-agents/drift-detector-testdata.jsonl', 8, {}, {'unsupported-resource-path': 1}],
  ['googlecloudplatform-khi/container_recorder_test_1_1.yaml', 0, {}, {'unknown-shape': 1}],
  ['googlecloudplatform-khi/container_recorder_test_1_2.yaml', 0, {}, {'unknown-shape': 1}],
  ['googlecloudplatform-khi/container_recorder_test_1_3.yaml', 0, {}, {'unknown-shape': 1}],
  ['googlecloudplatform-khi/k8s_audit_container_recorder.jsonl', 3, {}, {}],
  ['loki/gcplog-push-body.json', 0, {'not-audit': 1}, {}],
  ['panther-analysis/aws_eks_anonymous_api_access.jsonl', 2, {}, {'missing-field': 6}],
  ['panther-analysis/aws_eks_source_ip_multiple_403.jsonl', 3, {}, {}],
  ['panther-analysis/aws_eks_system_namespace_public_ip.jsonl', 9, {}, {}],
  ['panther-analysis/gcp_k8s_exec_into_pod.jsonl', 0, {'not-audit': 2}, {}],
  ['panther-analysis/k8s_anonymous_api_access.jsonl', 0, {}, {'missing-field': 8}],
  ['panther-analysis/k8s_client_certificate_created.jsonl', 0, {}, {'missing-field': 9}],
  ['panther-analysis/k8s_exec_into_pod.jsonl', 0, {}, {'missing-field': 5}],
  ['panther-analysis/k8s_kubectl_cp_operation.jsonl', 0, {}, {'missing-field': 8}],
  ['panther-analysis/k8s_secret_access_denied.jsonl', 0, {}, {'missing-field': 9}],
  ['panther-analysis/k8s_secret_enumeration.jsonl', 0, {}, {'missing-field': 7}],
  ['panther-analysis/k8s_secrets_dump_all_namespaces.jsonl', 0, {}, {'missing-field': 9}],
  ['panther-analysis/k8s_serviceaccount_token_created.jsonl', 0, {}, {'missing-field': 9}],
  ['panther-analysis/k8s_steal_serviceaccount_token.jsonl', 0, {}, {'missing-field': 12}],
  ['panther-analysis/k8s_system_principal_public_ip.jsonl', 0, {}, {'missing-field': 18}],
  ['panther/gke-nodes-proxy-cadvisor.jsonl', 1, {}, {}],
  ['sysdiglabs-stackdriver-webhook-bridge/log_entries.jsonl', 25, {}, {}],
];

function corpusFiles(): string[] {
  const root = fileURLToPath(CORPUS);
  return readdirSync(root, { withFileTypes: true })
    .filter((d) => d.isDirectory())
    .flatMap((d) => readdirSync(`${root}${d.name}`).map((f) => `${d.name}/${f}`))
    .sort();
}

/** Records in a file: one per non-blank line; a YAML file is one (rejected) record. */
function recordCount(file: string): number {
  // A YAML file and a pretty-printed JSON document (a Pub/Sub push body) are one record each.
  if (file.endsWith('.yaml') || file.endsWith('.json')) return 1;
  return readFileSync(new URL(file, CORPUS), 'utf8').split('\n').filter((l) => l.trim() !== '').length;
}

async function read(file: string): Promise<ParseOutcome[]> {
  const out: ParseOutcome[] = [];
  for await (const batch of readInputs([fileURLToPath(new URL(file, CORPUS))])) out.push(...batch);
  return out;
}

function tally(outcomes: ParseOutcome[]): [number, Record<string, number>, Record<string, number>] {
  const skipped: Record<string, number> = {};
  const rejected: Record<string, number> = {};
  let events = 0;
  for (const o of outcomes) {
    if (o.kind === 'event' || o.kind === 'runtime') events++;
    else if (o.kind === 'skipped') skipped[o.skip.reason] = (skipped[o.skip.reason] ?? 0) + 1;
    else if (o.kind === 'rejected') rejected[o.rejection.reason] = (rejected[o.rejection.reason] ?? 0) + 1;
  }
  return [events, skipped, rejected];
}

const sum = (o: Record<string, number>) => Object.values(o).reduce((a, b) => a + b, 0);

describe('corpus', () => {
  it('lists every corpus file in the table', () => {
    expect(EXPECTED.map((r) => r[0])).toEqual(corpusFiles());
  });

  it.each(EXPECTED)('reads %s', async (file, events, skipped, rejected) => {
    const outcomes = await read(file);
    expect(tally(outcomes)).toEqual([events, skipped, rejected]);
    expect(events + sum(skipped) + sum(rejected)).toBe(recordCount(file));
  });

  it('totals 107 events, 9 skipped and 105 rejected', async () => {
    const totals = EXPECTED.reduce((t, [, e, s, r]) => [t[0]! + e, t[1]! + sum(s), t[2]! + sum(r)], [0, 0, 0]);
    expect(totals).toEqual([107, 9, 105]);
  });

  const eventsOf = async (file: string): Promise<AuditEvent[]> =>
    (await read(file)).flatMap((o) => (o.kind === 'event' ? [o.event] : []));
  const brief = (e: AuditEvent) => [e.origin.line, e.verb, e.target.resource, e.target.subresource, e.target.namespace, e.target.name, e.outcome.result, e.outcome.code];

  it('maps the 2020 GKE captures: name-repeating exec/attach paths and code 2 as a working session', async () => {
    const events = await eventsOf('sysdiglabs-stackdriver-webhook-bridge/log_entries.jsonl');
    const pick = (line: number) => brief(events.find((e) => e.origin.line === line)!);
    expect(pick(2)).toEqual([2, 'create', 'pods', 'attach', 'default', 'nginx-deployment-9c6775499-hdq6z', 'success', 101]);
    expect(pick(24)).toEqual([24, 'create', 'pods', 'exec', 'default', 'hostnetwork-deployment-5dc5447c47-6ssdf', 'success', 101]);
    expect(pick(12)).toEqual([12, 'create', 'namespaces', undefined, undefined, 'test-ns', 'success', 200]);
    expect(pick(11)).toEqual([11, 'create', 'pods', undefined, 'default', undefined, 'success', 200]);
    expect(pick(22)).toEqual([22, 'delete', 'services', undefined, 'default', 'vanilla-nginx-deployment', 'failure', 404]);
    expect(events.every((e) => e.cloud === 'gke' && e.user.groups === undefined)).toBe(true);
  });

  it('maps the 2026 GKE captures: statuses, credential ids and the bootstrap CSR', async () => {
    const events = await eventsOf('gke-labs-kube-agents/drift-detector-testdata.jsonl');
    expect(events.map((e) => [e.origin.line, e.outcome.result, e.outcome.code])).toEqual([
      [1, 'success', 200],
      [2, 'success', 101],
      [4, 'failure', 403],
      [5, 'failure', 409],
      [6, 'success', 200],
      [7, 'success', 200],
      [8, 'success', 200],
      [9, 'success', 200],
    ]);
    const csr = events[0]!;
    expect([csr.cluster, csr.user.name, csr.auth.method, csr.auth.credentialId?.slice(0, 11)]).toEqual(['prod-1', 'kubelet-nodepool-bootstrap', 'x509', 'X509SHA256=']);
    expect(csr.target).toEqual({ apiGroup: 'certificates.k8s.io', apiVersion: 'v1', resource: 'certificatesigningrequests', name: 'node-csr-hpM6hbesnl8Z0M7FGF_PN6R9fhRs7ySusYK9FwbSF_A' });
  });

  it('keeps the exec command of a real capture in query order', async () => {
    const [exec] = await eventsOf('falcosecurity-falco/exec_pod.jsonl');
    expect(exec!.query).toEqual([
      ['command', 'bash'],
      ['container', 'nginx1'],
      ['container', 'nginx1'],
      ['stdin', 'true'],
      ['stdout', 'true'],
      ['tty', 'true'],
    ]);
    expect([exec!.stage, exec!.outcome.code, exec!.outcome.result]).toEqual(['ResponseStarted', 101, 'success']);
  });

  it('reads the AKS log both as a string and as an object', async () => {
    const [fromObject] = (await eventsOf('elastic-integrations/kubernetes_audit_logs_test-audit.jsonl')).slice(4);
    const [fromString] = await eventsOf('elastic-integrations/kubernetes_audit_logs_test-kube-audit.jsonl');
    expect([fromObject!.cloud, fromObject!.cluster, fromObject!.user.name, fromObject!.target.name]).toEqual(['aks', 'test-aks', 'aksService', 'elastic-agent-cluster-test']);
    expect([fromString!.cloud, fromString!.cluster, fromString!.target.name]).toEqual(['aks', 'test-cluster', 'kubelet-serving-csr-approver']);
  });
});
