import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseAnyRecord } from '../../adapters/file/detect.js';
import type { AnyRule } from '../../core/model/rule.js';
import { severityRank, type Severity } from '../../core/model/severity.js';
import nodeCredentialOffNode from '../../rules/node-credential-off-node.js';
import pkiReadViaExec from '../../rules/pki-read-via-exec.js';
import { runExample } from '../helpers/run-example.js';

/**
 * The exec captures and fixtures of test/fixtures/real, each with the outcome credwatch gives it and,
 * where that differs from the source's expectation, why (PROVENANCE.md lists the sources' verdicts).
 */

const CORPUS = new URL('../fixtures/real/', import.meta.url);
const lines = (file: string): string[] => readFileSync(new URL(file, CORPUS), 'utf8').split('\n').filter((l) => l.trim() !== '');
const record = (file: string, line: number): unknown => JSON.parse(lines(file)[line - 1]!);

const T = '2026-03-02T09:00:00.000000Z';
/**
 * Panther's unified k8s_* fixtures are hand-written without any timestamp, so the parsers reject
 * them (`missing-field`); the rule is judged on the same record with only a timestamp (and, for GKE,
 * the audit log name and service) added.
 */
function withTimestamp(rec: Record<string, unknown>): Record<string, unknown> {
  const props = rec['properties'] as Record<string, unknown> | undefined;
  if (typeof props?.['log'] === 'string') {
    const ev = JSON.parse(props['log']) as Record<string, unknown>;
    return { ...rec, time: T, properties: { ...props, log: JSON.stringify({ requestReceivedTimestamp: T, stageTimestamp: T, ...ev }) } };
  }
  if (rec['protoPayload'] !== undefined) {
    return { timestamp: T, logName: 'projects/p/logs/cloudaudit.googleapis.com%2Factivity', ...rec, protoPayload: { serviceName: 'k8s.io', ...(rec['protoPayload'] as object) } };
  }
  return { requestReceivedTimestamp: T, stageTimestamp: T, ...rec };
}

function verdict(rule: AnyRule, rec: unknown): { severity: Severity | null; problems: string[]; events: number } {
  const { findings, problems, events } = runExample(rule, { name: 'corpus', expect: null, record: rec, cluster: 'corpus' });
  let best: Severity | null = null;
  for (const f of findings) if (best === null || severityRank(f.severity) > severityRank(best)) best = f.severity;
  return { severity: best, problems, events: events.length };
}

interface Case {
  file: string;
  line: number;
  /** The source's own verdict for its rule, as PROVENANCE.md records it. */
  source: 'fires' | 'silent' | 'none';
  expect: Severity | null;
  note?: string;
}

const PANTHER: readonly Case[] = [
  { file: 'panther-analysis/k8s_exec_into_pod.jsonl', line: 1, source: 'fires', expect: null, note: 'Panther flags every exec; no command is logged, so nothing is read.' },
  { file: 'panther-analysis/k8s_exec_into_pod.jsonl', line: 2, source: 'fires', expect: null, note: 'as line 1 (AKS, WebSocket exec as get).' },
  { file: 'panther-analysis/k8s_exec_into_pod.jsonl', line: 3, source: 'fires', expect: null, note: 'as line 1 (GKE).' },
  { file: 'panther-analysis/k8s_exec_into_pod.jsonl', line: 4, source: 'silent', expect: null },
  { file: 'panther-analysis/k8s_exec_into_pod.jsonl', line: 5, source: 'silent', expect: null },
  { file: 'panther-analysis/k8s_kubectl_cp_operation.jsonl', line: 1, source: 'fires', expect: null, note: '/app/secrets/credentials.json is an application file, not a Kubernetes credential path; Panther\'s cp rule covers any copy out.' },
  { file: 'panther-analysis/k8s_kubectl_cp_operation.jsonl', line: 2, source: 'fires', expect: null, note: 'an SSH key (/root/.ssh) is out of this family\'s scope.' },
  { file: 'panther-analysis/k8s_kubectl_cp_operation.jsonl', line: 3, source: 'fires', expect: null, note: 'a database directory, not a credential path.' },
  { file: 'panther-analysis/k8s_kubectl_cp_operation.jsonl', line: 4, source: 'silent', expect: null },
  { file: 'panther-analysis/k8s_kubectl_cp_operation.jsonl', line: 5, source: 'silent', expect: null },
  { file: 'panther-analysis/k8s_kubectl_cp_operation.jsonl', line: 6, source: 'silent', expect: null },
  { file: 'panther-analysis/k8s_kubectl_cp_operation.jsonl', line: 7, source: 'silent', expect: null },
  { file: 'panther-analysis/k8s_kubectl_cp_operation.jsonl', line: 8, source: 'silent', expect: null },
  { file: 'panther-analysis/k8s_steal_serviceaccount_token.jsonl', line: 1, source: 'fires', expect: 'high' },
  { file: 'panther-analysis/k8s_steal_serviceaccount_token.jsonl', line: 2, source: 'fires', expect: null, note: '`ls` of the token directory lists file names and reads no token.' },
  { file: 'panther-analysis/k8s_steal_serviceaccount_token.jsonl', line: 3, source: 'fires', expect: 'high', note: 'real GKE entries never carry the command; this hand-written one does, and a command that is there is judged.' },
  { file: 'panther-analysis/k8s_steal_serviceaccount_token.jsonl', line: 4, source: 'fires', expect: 'high' },
  { file: 'panther-analysis/k8s_steal_serviceaccount_token.jsonl', line: 5, source: 'silent', expect: null },
  { file: 'panther-analysis/k8s_steal_serviceaccount_token.jsonl', line: 6, source: 'fires', expect: 'high' },
  { file: 'panther-analysis/k8s_steal_serviceaccount_token.jsonl', line: 7, source: 'fires', expect: 'high' },
  { file: 'panther-analysis/k8s_steal_serviceaccount_token.jsonl', line: 8, source: 'silent', expect: 'high', note: 'Panther trusts system principals in system namespaces; a name is spoofable and kube-proxy never execs to read a token.' },
  { file: 'panther-analysis/k8s_steal_serviceaccount_token.jsonl', line: 9, source: 'silent', expect: 'medium', note: 'a denied exec never ran, but asking for a token is reported (option reportDenied).' },
  { file: 'panther-analysis/k8s_steal_serviceaccount_token.jsonl', line: 10, source: 'fires', expect: 'high' },
  { file: 'panther-analysis/k8s_steal_serviceaccount_token.jsonl', line: 11, source: 'fires', expect: 'high' },
  { file: 'panther-analysis/k8s_steal_serviceaccount_token.jsonl', line: 12, source: 'fires', expect: 'high', note: 'as line 3: a hand-written GKE body.' },
  { file: 'panther-analysis/gcp_k8s_exec_into_pod.jsonl', line: 1, source: 'fires', expect: null, note: 'GCP.K8s.ExecIntoPod flags exec by a disallowed user; GKE logs no command to judge.' },
  { file: 'panther-analysis/gcp_k8s_exec_into_pod.jsonl', line: 2, source: 'fires', expect: null, note: 'as line 1.' },
];

describe('pki-read-via-exec on the Panther exec fixtures', () => {
  it('rejects them as they are: they carry no timestamp', () => {
    const reasons = new Set<string>();
    for (const c of PANTHER) {
      for (const o of parseAnyRecord(record(c.file, c.line), { source: c.file, line: c.line }, {})) {
        reasons.add(o.kind === 'rejected' ? o.rejection.reason : o.kind === 'skipped' ? `skipped:${o.skip.reason}` : 'event');
      }
    }
    expect([...reasons].sort()).toEqual(['missing-field', 'skipped:not-audit']);
  });

  for (const c of PANTHER) {
    it(`${c.file.split('/')[1]} line ${c.line}: ${c.expect ?? 'no finding'}${c.note === undefined ? '' : ` (${c.note})`}`, () => {
      const v = verdict(pkiReadViaExec, withTimestamp(record(c.file, c.line) as Record<string, unknown>));
      expect(v.problems).toEqual([]);
      expect(v.events).toBe(1);
      expect(v.severity).toBe(c.expect);
      // A case that departs from the source must say why.
      if ((c.source === 'fires') !== (c.expect !== null)) expect(c.note).toBeDefined();
    });
  }
});

const REAL: readonly (Case & { rule: AnyRule })[] = [
  { rule: pkiReadViaExec, file: 'falcosecurity-falco/exec_pod.jsonl', line: 1, source: 'fires', expect: null, note: 'Falco "Attach/Exec Pod" fires on any exec; `bash` alone reads nothing.' },
  { rule: pkiReadViaExec, file: 'falcosecurity-falco/attach_pod.jsonl', line: 1, source: 'fires', expect: null, note: 'attach carries no command; this family does not look at attach.' },
  { rule: pkiReadViaExec, file: 'gke-labs-kube-agents/drift-detector-testdata.jsonl', line: 2, source: 'none', expect: null, note: 'GKE exec entry: no command is logged.' },
  { rule: pkiReadViaExec, file: 'sysdiglabs-stackdriver-webhook-bridge/log_entries.jsonl', line: 24, source: 'none', expect: null, note: 'GKE exec with status 2 UNKNOWN on a working exec; no command.' },
  { rule: pkiReadViaExec, file: 'sysdiglabs-stackdriver-webhook-bridge/log_entries.jsonl', line: 2, source: 'none', expect: null },
  { rule: nodeCredentialOffNode, file: 'gke-labs-kube-agents/drift-detector-testdata.jsonl', line: 6, source: 'none', expect: null, note: 'the kubelet itself: node identity with its own user agent.' },
];

describe('real captures', () => {
  for (const c of REAL) {
    it(`${c.rule.id} on ${c.file} line ${c.line}: ${c.expect ?? 'no finding'}`, () => {
      const v = verdict(c.rule, record(c.file, c.line));
      expect(v.problems).toEqual([]);
      expect(v.events).toBe(1);
      expect(v.severity).toBe(c.expect);
      if (c.source === 'fires' && c.expect === null) expect(c.note).toBeDefined();
    });
  }
});
