import type { IdentityTables } from '../core/model/identity-tables.js';
import * as z from 'zod';
import { eventTimeMs, type AuditEvent } from '../core/model/event.js';
import type { K8sEventInit } from '../examples/audit-records.js';
import type { ExampleKit } from './data/example-kit.js';
import { classifyIdentity } from '../core/detection/identity.js';
import { isKubeletUserAgent } from '../core/detection/kubelet.js';
import { defineRule, type RuleExample } from '../core/model/rule.js';
import { allowlistOf, secretAllowlistOptions } from '../core/detection/secret-readers.js';
import {
  controlPlaneReader,
  describeClient,
  impersonatesControlPlane,
  isDenied,
  matchController,
  secretRead,
  type SecretRead,
} from '../core/detection/secret-scope.js';

const options = z.object({
  /**
   * Distinct Secrets (a namespace list counts as one) one identity must read within the window.
   * 10: Elastic's burst rule fires at 3 distinct names in 6 minutes, which an operator reading a
   * handful of credentials reaches on every restart; Panther's 15 in 30 minutes, scaled to our
   * 10-minute window, gives 5. Ten sits above what an application reads at start-up and well below
   * a namespace-by-namespace dump. At most 100: history keeps 128 requests per user and scan.
   */
  threshold: z.number().int().min(2).max(100).default(10),
  /**
   * The window the reads must fall in. Scheduled runs keep each counted read this long (rule
   * memory), so a sweep slower than one run's window is still counted as one.
   */
  windowMinutes: z.number().positive().max(60).default(10),
  /** Names never counted: Helm keeps release state in `sh.helm.release.v1.<release>.v<n>` Secrets. */
  ignoreNamePrefixes: z.array(z.string().min(1)).default(['sh.helm.release.v1.']),
  ...secretAllowlistOptions,
});
type Options = z.infer<typeof options>;

/** What one request counts as: `ns/name`, `ns/*` for a namespace list, undefined when it does not count. */
function unitOf(e: AuditEvent, read: SecretRead, o: Options, identities: IdentityTables): string | undefined {
  if (read.scope === 'cluster') return undefined;
  if (read.name !== undefined && o.ignoreNamePrefixes.some((p) => read.name!.startsWith(p))) return undefined;
  // The Node authorizer limits a kubelet to its own pods' Secrets: many of them is a busy node, not a sweep.
  if (read.scope === 'single' && classifyIdentity(e.user, identities).kind === 'node' && isKubeletUserAgent(e.userAgent)) return undefined;
  return read.scope === 'single' ? `${read.namespace ?? ''}/${read.name ?? ''}` : `${read.namespace ?? ''}/*`;
}

const isSecretRead = (e: AuditEvent): boolean =>
  e.target.resource === 'secrets' && (e.verb === 'get' || e.verb === 'list' || e.verb === 'watch');

/** What the sweep counts of one earlier request; null when it is not a counted Secret read. */
/** One counted read, as the rule's state keeps it: what the count needs, never the event. */
interface CountedRead {
  ms: number;
  denied: boolean;
  id: string;
  time: string;
  /** The earlier run that saw it, for a read carried in. */
  run: string | undefined;
  /** Arrival order, so earlier-run evidence is listed as the reads came. */
  seq: number;
}

/**
 * Each identity's counted reads by unit (a Secret, or a namespace's list), the newest reads of a
 * unit last. A read counts for another when their times are within the window either way (a
 * scan's pages may deliver requests out of time order), so a unit keeps a few of its latest reads.
 */
interface SweepState {
  byWho: Map<string, Map<string, CountedRead[]>>;
  seq: number;
}

/** Reads kept per unit, units per identity and identities per run: the state's memory bound. */
const READS_PER_UNIT = 4;
const UNITS_PER_WHO = 4_096;
const WHO_KEPT = 50_000;

const whoOf = (e: AuditEvent): string => `${e.cluster ?? ''}\u0000${e.user.name ?? ''}`;

function observeRead(s: SweepState, e: AuditEvent, o: Options, identities: IdentityTables, run: string | undefined): void {
  if (!isSecretRead(e)) return;
  const unit = unitOf(e, secretRead(e), o, identities);
  if (unit === undefined) return;
  const who = whoOf(e);
  let units = s.byWho.get(who);
  if (units === undefined) {
    if (s.byWho.size >= WHO_KEPT) s.byWho.delete(s.byWho.keys().next().value!);
    units = new Map();
  } else s.byWho.delete(who); // re-inserted: the identities read longest ago go first
  s.byWho.set(who, units);
  const ms = eventTimeMs(e);
  let reads = units.get(unit);
  if (reads === undefined) {
    if (units.size >= UNITS_PER_WHO) pruneUnits(units, ms - o.windowMinutes * 60_000);
    reads = [];
  } else units.delete(unit);
  units.set(unit, reads);
  reads.push({ ms, denied: isDenied(e), id: e.id, time: e.time, run, seq: s.seq++ });
  if (reads.length > READS_PER_UNIT) reads.shift();
}

/** The counted reads earlier runs saw, in the order they came, as a finding names them (`earlierRunEvidence`). */
function earlierRunsOf(reads: CountedRead[]): Array<{ id: string; time: string; run: string }> {
  const out: Array<{ id: string; time: string; run: string }> = [];
  const seen = new Set<string>();
  for (const r of reads.sort((a, b) => a.seq - b.seq)) {
    if (r.run === undefined || seen.has(r.id)) continue;
    seen.add(r.id);
    out.push({ id: r.id, time: r.time, run: r.run });
  }
  return out;
}

/** Drops units read only before `before`; if every unit is recent, the half read longest ago. */
function pruneUnits(units: Map<string, CountedRead[]>, before: number): void {
  for (const [unit, reads] of units) if (reads.every((r) => r.ms < before)) units.delete(unit);
  if (units.size < UNITS_PER_WHO) return;
  let drop = units.size >> 1;
  for (const unit of units.keys()) {
    if (drop-- <= 0) break;
    units.delete(unit);
  }
}

export default defineRule<Options, SweepState>({
  id: 'secret-sweep',
  title: 'Secrets swept: all namespaces listed or many Secrets read',
  severity: 'high',
  mitre: ['T1552.007', 'T1613'],
  description:
    'One identity lists Secrets across all namespaces (/api/v1/secrets, GKE core/v1/secrets: the Stratus Red Team ' +
    'k8s.credential-access.dump-secrets technique), or reads many distinct Secrets within a short window, and is neither ' +
    'the control plane nor an allowlisted controller running in its own pod.',
  whyItMatters:
    'Dumping Secrets is how an attacker turns any foothold with read access into every credential the cluster holds: ' +
    'registry and cloud keys, database passwords, other service accounts\' tokens. A cluster-wide list returns them all in one response.',
  falsePositives: [
    'Backup tools (Velero) and inventory or security scanners that list every Secret: add them to `allow` bound to their pod name.',
    'An administrator inspecting many Secrets by hand; confirm with the person.',
    'An informer\'s list then watch of all namespaces alerts once (the watch after a list is not reported again).',
  ],
  runbook: [
    'Identify the identity (facts.identity) and how it authenticated (event.user, credential id, pod-name claim).',
    'If it is not a known backup or security tool, assume every Secret in scope (facts.units, or the whole cluster) is exposed: ' +
      'rotate them, starting with cloud and registry credentials and service-account token Secrets.',
    'Revoke the credential: delete the pod or token Secret of a service account, remove the RoleBinding, or rotate the node.',
    'Look for follow-up use of the stolen material: new sources for the service accounts whose tokens were listed, cloud API calls with the keys.',
  ],
  references: [
    'https://stratus-red-team.cloud/attack-techniques/kubernetes/k8s.credential-access.dump-secrets/',
    'https://github.com/panther-labs/panther-analysis/blob/main/rules/kubernetes_rules/k8s_secrets_dump_all_namespaces.yml',
    'https://github.com/elastic/detection-rules/blob/main/rules/integrations/kubernetes/credential_access_kubernetes_multiple_secret_retrieval_burst.toml',
    'https://attack.mitre.org/techniques/T1552/007/',
  ],
  clouds: {
    eks: 'full',
    aks: 'kube-audit only (kube-audit-admin has no get/list)',
    gke: 'Data Access logs only; the cluster-wide list is core/v1/secrets (no namespace); no field selector visible',
    k8s: 'full when the audit policy logs Secret reads at Metadata level',
  },
  needs: { resources: ['secrets'], subresources: [''], verbs: ['get', 'list', 'watch'] },
  options,
  memory: {
    keeps: 'each counted Secret read: the newest per (cluster, identity, Secret or namespace), and each cluster-wide list, for windowMinutes',
    keep(e, ctx) {
      if (!isSecretRead(e) || controlPlaneReader(e) !== undefined) return undefined;
      const read = secretRead(e);
      const forMs = ctx.options.windowMinutes * 60_000;
      const who = `${e.cluster ?? ''}\u0000${e.user.name ?? ''}`;
      if (read.scope === 'cluster') return e.verb === 'list' ? { forMs, key: `${who}\u0000list` } : undefined;
      const unit = unitOf(e, read, ctx.options, ctx.identities);
      return unit === undefined ? undefined : { forMs, key: `${who}\u0000${unit}` };
    },
  },
  state: {
    create: () => ({ byWho: new Map(), seq: 0 }),
    observe(s, e, ctx) {
      observeRead(s, e, ctx.options, ctx.identities, ctx.history.earlierRun?.(e));
    },
  },
  evaluate(e, ctx) {
    if (controlPlaneReader(e) !== undefined) return null; // the control plane reads every Secret by design
    if (matchController(e, allowlistOf(ctx.options)).allowed) return null;
    const read = secretRead(e);
    const denied = isDenied(e);
    const who = e.user.name ?? '(unknown user)';
    // Only a finding needs these: most reads (a kubelet's, one Secret at a time) end before them.
    const common = (): Record<string, unknown> => {
      const impostor = impersonatesControlPlane(e);
      return {
        identity: who,
        identityKind: classifyIdentity(e.user, ctx.identities).kind,
        denied,
        unverified: read.unverified,
        ...(impostor === undefined ? {} : { controlPlaneNameWithoutItsUserAgent: impostor.userAgentPrefix }),
      };
    };

    if (read.scope === 'cluster' && (e.verb === 'list' || e.verb === 'watch')) {
      // An informer lists then watches: the watch after this user's own cluster-wide list adds nothing.
      if (e.verb === 'watch' && ctx.history.sameUser(e).some((x) => x.id !== e.id && isSecretRead(x) && x.verb === 'list' && x.target.namespace === undefined)) {
        return null;
      }
      return {
        severity: denied ? 'medium' : 'critical',
        summary: `${who} ${e.verb} secrets in all namespaces of ${e.cluster ?? 'the cluster'} ${describeClient(e)}${denied ? ' (denied)' : ''}`,
        facts: { ...common(), pattern: 'all-namespaces', scope: 'cluster' },
      };
    }

    const o = ctx.options;
    const unit = unitOf(e, read, o, ctx.identities);
    if (unit === undefined) return null;
    const now = eventTimeMs(e);
    const windowMs = o.windowMinutes * 60_000;
    const units: string[] = [];
    const counted: CountedRead[] = [];
    let allDenied = denied;
    for (const [u, reads] of ctx.state.byWho.get(whoOf(e)) ?? []) {
      let inWindow = false;
      for (const r of reads) {
        // Another stage of this same request is not another read.
        if (r.id === e.id || Math.abs(now - r.ms) > windowMs) continue;
        inWindow = true;
        counted.push(r);
        if (!r.denied) allDenied = false;
      }
      if (!inWindow) continue;
      if (u === unit) return null; // not a new Secret: the count did not move
      units.push(u);
    }
    units.push(unit);
    // Report on reaching the threshold and on each further multiple, not on every read past it.
    if (units.length % o.threshold !== 0) return null;
    const list = units.sort();
    const earlier = earlierRunsOf(counted);
    return {
      severity: allDenied ? 'medium' : 'high',
      summary: `${who} read ${units.length} distinct secrets within ${o.windowMinutes} minutes in ${e.cluster ?? 'the cluster'} ${describeClient(e)}${allDenied ? ' (all denied)' : ''}`,
      facts: {
        ...common(), pattern: 'many-secrets', distinctSecrets: units.length, threshold: o.threshold, windowMinutes: o.windowMinutes, units: list.slice(0, 50),
        ...(earlier.length === 0 ? {} : { earlierRuns: earlier.slice(0, 50) }),
      },
    };
  },
});

/** The suite runs these (`RuleExample`, core/model/rule.ts); kept off the rule, so what builds them never ships. */
export function examples({ asAks, asEks, asGke, asPantherAks, k8sEvent }: ExampleKit): RuleExample[] {
  const BASE_MS = Date.parse('2026-03-02T09:00:00.000Z');
  const at = (seconds: number): string => new Date(BASE_MS + seconds * 1000).toISOString();
  const KUBECTL = 'kubectl/v1.30.2 (linux/amd64) kubernetes/3968350';
  const KCM = 'kube-controller-manager/v1.30.2 (linux/amd64) kubernetes/3968350';
  /** `n` gets of distinct secrets across three namespaces, 20 seconds apart. */
  const reads = (n: number, init: Partial<K8sEventInit> & { user: string }, name = (i: number) => `app-secret-${i}`) =>
    Array.from({ length: n }, (_, i) =>
      k8sEvent({ verb: 'get', resource: 'secrets', namespace: ['shop', 'billing', 'payments'][i % 3]!, name: name(i), userAgent: KUBECTL, time: at(i * 20), ...init }),
    );
  /** Panther's fixtures carry no timestamp, which every audit record has; the examples add one. */
  const T = '2026-03-02T09:00:00Z';
  /** Panther's dump fixtures 4 and 7 to 9: one cluster-wide list, by another user, with another status or query. */
  const pantherClusterList = (username: string, o: { code?: number; requestURI?: string; sourceLabel?: string } = {}) => ({
    kind: 'Event',
    verb: 'list',
    user: { username },
    objectRef: { resource: 'secrets', apiVersion: 'v1' },
    requestURI: o.requestURI ?? '/api/v1/secrets',
    responseStatus: { code: o.code ?? 200 },
    p_log_type: 'Amazon.EKS.Audit',
    ...(o.sourceLabel === undefined ? {} : { p_source_label: o.sourceLabel }),
    requestReceivedTimestamp: T,
  });
  return [
    {
      name: 'Stratus dump-secrets: list /api/v1/secrets (Panther dump fixture 1, raw Event)',
      expect: 'critical',
      record: {
        kind: 'Event',
        apiVersion: 'audit.k8s.io/v1',
        stage: 'ResponseComplete',
        verb: 'list',
        user: { username: 'attacker@example.com' },
        sourceIPs: ['203.0.113.42'],
        userAgent: 'kubectl/v1.28.0',
        objectRef: { resource: 'secrets', apiVersion: 'v1' },
        requestURI: '/api/v1/secrets?limit=500',
        responseStatus: { code: 200 },
        p_log_type: 'Amazon.EKS.Audit',
        p_source_label: 'eks-cluster',
        requestReceivedTimestamp: T,
      },
      facts: { pattern: 'all-namespaces', identity: 'attacker@example.com', identityKind: 'human' },
    },
    {
      name: 'cluster-wide list (Panther dump fixture 2, AKS diagnostic record)',
      expect: 'critical',
      cluster: 'aks-cluster',
      record: asPantherAks(
        {
          kind: 'Event',
          apiVersion: 'audit.k8s.io/v1',
          stage: 'ResponseComplete',
          verb: 'list',
          user: { username: 'compromised-user@example.com' },
          sourceIPs: ['1.2.3.4'],
          objectRef: { resource: 'secrets', apiVersion: 'v1' },
          requestURI: '/api/v1/secrets',
          responseStatus: { code: 200 },
        },
        { sourceLabel: 'aks-cluster', time: T },
      ),
    },
    {
      name: 'cluster-wide list core/v1/secrets (Panther dump fixture 3, GKE LogEntry)',
      expect: 'critical',
      cluster: 'gke-cluster',
      record: {
        protoPayload: {
          authenticationInfo: { principalEmail: 'user@company.com' },
          authorizationInfo: [{ granted: true, permission: 'io.k8s.core.v1.secrets.list', resource: 'core/v1/secrets' }],
          methodName: 'io.k8s.core.v1.secrets.list',
          requestMetadata: { callerIP: '8.8.8.8' },
          resourceName: 'core/v1/secrets',
          serviceName: 'k8s.io',
          requestURI: '/api/v1/secrets?limit=500',
        },
        resource: { type: 'k8s_cluster', labels: { project_id: 'test-project' } },
        p_log_type: 'GCP.AuditLog',
        p_source_label: 'gke-cluster',
        timestamp: T,
      },
      facts: { unverified: ['field selector not logged'] },
      note:
        'Panther\'s GKE fixture spells callerIP (real GKE logs callerIp) and carries a requestURI GKE never logs; our ' +
        'parser ignores both, so the finding has no source address and says the field selector was not visible.',
    },
    {
      name: 'cluster-wide list with watch=true in the query (Panther dump fixture 4)',
      expect: 'critical',
      record: pantherClusterList('attacker@example.com', { requestURI: '/api/v1/secrets?watch=true', sourceLabel: 'eks-cluster' }),
    },
    {
      name: 'namespaced list alone is no sweep (Panther dump fixture 5)',
      expect: null,
      record: {
        kind: 'Event',
        verb: 'list',
        user: { username: 'developer@example.com' },
        objectRef: { resource: 'secrets', namespace: 'production', apiVersion: 'v1' },
        requestURI: '/api/v1/namespaces/production/secrets',
        responseStatus: { code: 200 },
        p_log_type: 'Amazon.EKS.Audit',
        requestReceivedTimestamp: T,
      },
    },
    {
      name: 'single get is no sweep (Panther dump fixture 6)',
      expect: null,
      record: {
        kind: 'Event',
        verb: 'get',
        user: { username: 'admin@example.com' },
        objectRef: { resource: 'secrets', namespace: 'default', name: 'api-token', apiVersion: 'v1' },
        requestURI: '/api/v1/namespaces/default/secrets/api-token',
        responseStatus: { code: 200 },
        p_log_type: 'Amazon.EKS.Audit',
        requestReceivedTimestamp: T,
      },
    },
    {
      name: 'namespace-controller by name only, no user agent (Panther dump fixture 7)',
      expect: 'critical',
      record: pantherClusterList('system:serviceaccount:kube-system:namespace-controller'),
      facts: { controlPlaneNameWithoutItsUserAgent: 'kube-controller-manager/' },
      note:
        'Panther excludes this identity by name. We trust control-plane identities only with their component\'s user ' +
        'agent (a name is what a stolen token or a CSR-minted certificate gives); this fixture logs none, so it fires. ' +
        'Fixture enumeration 5 (same identity, kube-controller-manager user agent) stays quiet.',
    },
    {
      name: 'kube-state-metrics by name only (Panther dump fixture 8)',
      expect: 'critical',
      record: pantherClusterList('system:serviceaccount:kube-system:kube-state-metrics'),
      note:
        'Panther excludes kube-state-metrics by name. It is on our allowlist bound to its pod-name claim ' +
        '(kube-state-metrics-*); this fixture carries no claim and no user agent, exactly what its token replayed ' +
        'elsewhere looks like, so it fires.',
    },
    {
      name: 'denied cluster-wide list (Panther dump fixture 9)',
      expect: 'medium',
      record: pantherClusterList('attacker@example.com', { code: 403 }),
      facts: { denied: true },
      note: 'Panther drops failed requests. A denied dump is someone trying a credential: reported medium.',
    },
    {
      name: 'namespace-controller with its user agent (Panther enumeration fixture 5)',
      expect: null,
      record: {
        kind: 'Event',
        apiVersion: 'audit.k8s.io/v1',
        stage: 'ResponseComplete',
        verb: 'list',
        user: { username: 'system:serviceaccount:kube-system:namespace-controller' },
        userAgent: 'kube-controller-manager/v1.28.0',
        objectRef: { resource: 'secrets', apiVersion: 'v1' },
        responseStatus: { code: 200 },
        p_log_type: 'Amazon.EKS.Audit',
        requestReceivedTimestamp: T,
      },
    },
    {
      name: 'one get by a user (Panther enumeration fixture 1) is below the threshold',
      expect: null,
      record: {
        kind: 'Event',
        apiVersion: 'audit.k8s.io/v1',
        stage: 'ResponseComplete',
        verb: 'get',
        user: { username: 'attacker@example.com' },
        userAgent: 'kubectl/v1.28.0',
        objectRef: { resource: 'secrets', namespace: 'production', name: 'db-credentials', apiVersion: 'v1' },
        responseStatus: { code: 200 },
        p_log_type: 'Amazon.EKS.Audit',
        requestReceivedTimestamp: T,
      },
      note: 'Panther\'s test asserts only that the event counts toward its threshold (15 in 30 minutes); one read alone raises nothing there either.',
    },
    {
      name: 'a user reads 10 distinct secrets in 3 minutes (EKS)',
      expect: 'high',
      records: reads(10, { user: 'jane@example.com', sourceIPs: ['198.51.100.4'] }).map((ev) => asEks(ev)),
      facts: { pattern: 'many-secrets', distinctSecrets: 10, threshold: 10, windowMinutes: 10 },
    },
    {
      name: 'a service account reads 10 distinct secrets, all denied (AKSAudit rows)',
      expect: 'medium',
      records: reads(10, { user: 'system:serviceaccount:shop:web', code: 403, userAgent: 'python-requests/2.31.0' }).map((ev) => asAks(ev, { form: 'aksaudit' })),
    },
    {
      name: 'a service account reads 10 distinct secrets (GKE)',
      expect: 'high',
      records: reads(10, { user: 'system:serviceaccount:shop:web', userAgent: 'Go-http-client/2.0' }).map((ev) => asGke(ev)),
    },
    {
      name: 'nine distinct secrets stay below the threshold (GKE)',
      expect: null,
      records: reads(9, { user: 'system:serviceaccount:shop:web' }).map((ev) => asGke(ev)),
    },
    {
      name: 'Helm release secrets are not counted (EKS)',
      expect: null,
      records: reads(12, { user: 'ci-deployer@example.com', userAgent: 'Helm/3.14.2' }, (i) => `sh.helm.release.v1.shop.v${i + 1}`).map((ev) => asEks(ev)),
    },
    {
      name: 'the same secret read 12 times is one secret (EKS)',
      expect: null,
      records: reads(12, { user: 'jane@example.com' }, () => 'db-password').map((ev) => asEks(ev)),
    },
    {
      name: 'a busy node\'s kubelet reads its pods\' secrets (EKS)',
      expect: null,
      records: reads(
        12,
        {
          user: 'system:node:ip-10-0-1-23.eu-west-1.compute.internal',
          userAgent: 'kubelet/v1.30.2 (linux/amd64) kubernetes/3968350',
          sourceIPs: ['10.0.1.23'],
        },
      ).map((ev) => asEks(ev)),
    },
    {
      name: 'kube-controller-manager lists every secret (AKS AzureDiagnostics row)',
      expect: null,
      record: asAks(k8sEvent({ verb: 'list', resource: 'secrets', user: 'system:kube-controller-manager', userAgent: `${KCM}/tokens-controller`, sourceIPs: ['::1'] }), { form: 'azure-diagnostics' }),
    },
    {
      name: 'allowlisted external-secrets lists all namespaces from its pod (AKS diagnostic record)',
      expect: null,
      record: asAks(k8sEvent({
        verb: 'list',
        resource: 'secrets',
        user: 'system:serviceaccount:external-secrets:external-secrets',
        extra: {
          'authentication.kubernetes.io/credential-id': ['JTI=3c2b1a09-8f7e-4d6c-9b5a-4e3d2c1b0a9f'],
          'authentication.kubernetes.io/pod-name': ['external-secrets-5b8c7d9f6-q7w8e'],
        },
        userAgent: 'external-secrets/v0.0.0 (linux/amd64) kubernetes/$Format',
        sourceIPs: ['10.244.1.17'],
      })),
    },
  ];
}
