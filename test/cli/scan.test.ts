import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import * as z from 'zod';
import { asAks, asEks, asEksSubscription, asGke, k8sEvent } from '../../examples/audit-records.js';
import { cli, TEST_RULES } from './cli-harness.js';

const deps = { rules: TEST_RULES };
let dir: string;
let fixture: string;

const gkeList = k8sEvent({
  verb: 'list',
  user: 'system:serviceaccount:ci:deployer',
  resource: 'secrets',
  time: '2026-03-02T09:00:05.000000Z',
  auditID: '11111111-1111-4111-8111-111111111111',
  sourceIPs: ['198.51.100.20'],
  userAgent: 'curl/8.5.0',
});
const aksGet = k8sEvent({
  verb: 'get',
  user: 'alice@example.com',
  resource: 'configmaps',
  namespace: 'default',
  name: 'app-config',
  time: '2026-03-02T09:00:01.000000Z',
  auditID: '22222222-2222-4222-8222-222222222222',
});
const eksList = k8sEvent({
  verb: 'list',
  user: 'system:node:ip-10-0-1-5.ec2.internal',
  resource: 'secrets',
  namespace: 'kube-system',
  time: '2026-03-02T09:00:03.000000Z',
  auditID: '33333333-3333-4333-8333-333333333333',
});
const rawPods = k8sEvent({ verb: 'get', user: 'bob', resource: 'pods', namespace: 'default', name: 'web', time: '2026-03-02T09:00:02.000000Z' });
const rawSecretList = k8sEvent({
  verb: 'list',
  user: 'mallory',
  resource: 'secrets',
  namespace: 'default',
  time: '2026-03-02T09:00:04.000000Z',
  auditID: '44444444-4444-4444-8444-444444444444',
});
const otherCategory = { ...asAks(aksGet), category: 'cluster-autoscaler', properties: { log: 'I0302 scale-up not needed\n' } };

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'credwatch-cli-'));
  fixture = join(dir, 'mixed.jsonl');
  const lines = [
    asGke(gkeList, { cluster: 'gke-prod-1' }),
    asAks(aksGet, { cluster: 'aks-prod-1' }),
    asEksSubscription([eksList], 'eks-prod-1'),
    rawPods,
    '{not json',
    otherCategory,
    rawSecretList,
  ].map((r) => (typeof r === 'string' ? r : JSON.stringify(r)));
  writeFileSync(fixture, lines.join('\n') + '\n');
});

describe('credwatch scan', () => {
  it('prints a table sorted by time and a summary with exact counts, exit 0', async () => {
    const r = await cli(['scan', fixture], deps);
    expect(r.code).toBe(0);
    expect(r.stdout.split('\n')).toEqual([
      '4 findings in 4 requests: a line per request (severity, time, cluster, who did what), then the rules it raised',
      '',
      'LOW       2026-03-02T09:00:01Z  aks-prod-1  alice@example.com get configmaps default/app-config from 203.0.113.24',
      '  test-configmap-get  low       alice@example.com read configmap app-config',
      '',
      'HIGH      2026-03-02T09:00:03Z  eks-prod-1  system:node:ip-10-0-1-5.ec2.internal list secrets in namespace kube-system from 203.0.113.24',
      '  test-secret-list    high      system:node:ip-10-0-1-5.ec2.internal listed secrets in kube-system',
      '',
      'HIGH      2026-03-02T09:00:04Z  -           mallory list secrets in namespace default from 203.0.113.24',
      '  test-secret-list    high      mallory listed secrets in default',
      '',
      'HIGH      2026-03-02T09:00:05Z  gke-prod-1  system:serviceaccount:ci:deployer list secrets in all namespaces from 198.51.100.20',
      '  test-secret-list    high      system:serviceaccount:ci:deployer listed secrets in all namespaces',
      '',
    ]);
    const summary = r.stderr.split('\n');
    // The pods request is one no rule of this test needs: the prefilter counts it unparsed.
    expect(summary[0]).toMatch(/^credwatch: 7 records → 4 events, 2 skipped, 1 rejected in \d+\.\d\d s \(\d[\d,]* events\/s\)$/);
    expect(summary.slice(1)).toEqual([
      '  skipped: not-needed 1, other-category 1',
      expect.stringMatching(new RegExp(`^  rejected malformed-json: 1 \\(first: ${fixture.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:5: .+\\)$`)),
      '  findings: 4 — high 3, low 1',
      '    test-secret-list: 3',
      '    test-configmap-get: 1',
      '',
    ]);
  });

  it('writes one alert per line in the alert shape of docs/architecture.md with --format jsonl', async () => {
    const r = await cli(['scan', fixture, '--format', 'jsonl', '--rules', 'test-secret-list'], deps);
    expect(r.code).toBe(0);
    const alerts = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(alerts).toHaveLength(3);
    for (const a of alerts) {
      // `docs` only for rules documented under docs/ (the test rules are not).
      expect(Object.keys(a)).toEqual(['id', 'rule', 'title', 'severity', 'summary', 'cloud', 'cluster', 'time', 'event', 'facts', 'mitre']);
      expect(Object.keys(a['event'] as object)).toEqual(['id', 'verb', 'user', 'sourceIPs', 'userAgent', 'target', 'outcome', 'origin']);
      expect(a['id']).toMatch(/^[0-9a-f]{32}$/);
    }
    const gke = alerts.find((a) => a['cloud'] === 'gke')!;
    expect(gke).toMatchObject({
      rule: 'test-secret-list',
      title: 'Secrets listed',
      severity: 'high',
      summary: 'system:serviceaccount:ci:deployer listed secrets in all namespaces',
      cluster: 'gke-prod-1',
      time: '2026-03-02T09:00:05.000000Z',
      facts: { scope: 'cluster' },
      mitre: ['T1552.007'],
      event: {
        id: '11111111-1111-4111-8111-111111111111',
        verb: 'list',
        user: { name: 'system:serviceaccount:ci:deployer' },
        sourceIPs: ['198.51.100.20'],
        userAgent: 'curl/8.5.0',
        target: { resource: 'secrets' },
        outcome: { result: 'success' },
        origin: { source: fixture, line: 1 },
      },
    });
    expect(alerts.map((a) => a['cloud']).sort()).toEqual(['eks', 'gke', 'k8s']);
  });

  it('applies --cluster to records whose envelope names none', async () => {
    const r = await cli(['scan', fixture, '--format', 'jsonl', '--cluster', 'onprem-1', '--rules', 'test-secret-list'], deps);
    const clusters = r.stdout.trim().split('\n').map((l) => (JSON.parse(l) as { cloud: string; cluster: string }));
    expect(clusters.find((a) => a.cloud === 'k8s')?.cluster).toBe('onprem-1');
  });

  it('filters with --min-severity and counts what it hid', async () => {
    const r = await cli(['scan', fixture, '--min-severity', 'medium'], deps);
    expect(r.code).toBe(0);
    expect(r.stdout).not.toContain('test-configmap-get');
    expect(r.stdout).toMatch(/^3 findings in 3 requests/);
    expect(r.stderr).toContain('  findings: 3 — high 3 (1 more below medium)\n');
  });

  it('exits 1 when a finding reaches --fail-on, 0 when none does', async () => {
    expect((await cli(['scan', fixture, '--fail-on', 'high'], deps)).code).toBe(1);
    expect((await cli(['scan', fixture, '--fail-on', 'low', '--rules', 'test-configmap-get'], deps)).code).toBe(1);
    expect((await cli(['scan', fixture, '--fail-on', 'medium', '--rules', 'test-configmap-get'], deps)).code).toBe(0);
    expect((await cli(['scan', fixture, '--fail-on', 'critical'], deps)).code).toBe(0);
    // Hidden by --min-severity = not reported, so it cannot fail the run.
    expect((await cli(['scan', fixture, '--fail-on', 'low', '--min-severity', 'high', '--rules', 'test-configmap-get'], deps)).code).toBe(0);
  });

  it('runs only the rules named by --rules and rejects an unknown id by name', async () => {
    const only = await cli(['scan', fixture, '--rules', 'test-configmap-get'], deps);
    expect(only.stdout).not.toContain('test-secret-list');
    const bad = await cli(['scan', fixture, '--rules', 'test-configmap-get,no-such-rule,other'], deps);
    expect(bad.code).toBe(2);
    expect(bad.stdout).toBe('');
    expect(bad.stderr).toBe('credwatch: --rules: unknown rule ids no-such-rule, other. Run `credwatch rules` to list them.\n');
  });

  it('counts a file of requests no rule needs as scanned: exit 0, every line counted unparsed', async () => {
    const leases = join(dir, 'leases.jsonl');
    const lease = (i: number) => JSON.stringify(asEks(k8sEvent({ verb: 'update', user: `system:node:n${i}`, resource: 'leases', apiGroup: 'coordination.k8s.io', namespace: 'kube-node-lease', name: `n${i}` })));
    writeFileSync(leases, [1, 2, 3].map(lease).join('\n') + '\n');
    const r = await cli(['scan', leases], deps);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe('No findings at or above info.\n');
    expect(r.stderr).toMatch(/^credwatch: 3 records → 0 events, 3 skipped, 0 rejected/);
    expect(r.stderr).toContain('skipped: not-needed 3');
    // With every line parsed, they are events.
    expect((await cli(['scan', leases, '--validate'], deps)).stderr).toMatch(/^credwatch: 3 records → 3 events, 0 skipped, 0 rejected/);
  });

  it('exits 2 naming an unreadable path', async () => {
    const missing = join(dir, 'nope.jsonl');
    const r = await cli(['scan', fixture, missing], deps);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`FAILED`);
    expect(r.stderr).toContain(`cannot read input ${missing}`);
    expect(r.stdout).toBe('No findings at or above info.\n');
  });

  it('reads stdin for -', async () => {
    const r = await cli(['scan', '-', '--format', 'jsonl'], deps, {}, JSON.stringify(rawSecretList) + '\n');
    expect(r.code).toBe(0);
    expect((JSON.parse(r.stdout) as { event: { origin: unknown } }).event.origin).toEqual({ source: '-', line: 1 });
  });

  it('rejects usage errors with exit 2', async () => {
    const cases: Array<[string[], string]> = [
      [['scan', fixture, '--min-severity', 'severe'], "argument 'severe' is invalid"],
      [['scan', fixture, '--format', 'xml'], "argument 'xml' is invalid"],
      [['scan'], 'Nothing to scan'],
      [['scan', fixture, '--since', '2h'], '--since/--from/--to select a window of a live source'],
      [['scan', fixture, '--bogus'], "unknown option '--bogus'"],
      [['frobnicate'], "unknown command 'frobnicate'"],
    ];
    for (const [argv, message] of cases) {
      const r = await cli(argv, deps);
      expect({ argv, code: r.code }).toEqual({ argv, code: 2 });
      expect(r.stderr).toContain(message);
    }
  });

  it('validates --config and names the bad option', async () => {
    const good = join(dir, 'good.json');
    writeFileSync(good, JSON.stringify({ identities: { controlPlaneUsers: ['platform-bot'] } }));
    expect((await cli(['scan', fixture, '--config', good], deps)).code).toBe(0);
    const cases: Array<[unknown, string]> = [
      [{ identities: { controlPlaneUsers: 'x' } }, 'identities.controlPlaneUsers: '],
      [{ ruels: {} }, 'Unrecognized key: "ruels"'],
      [{ rules: { 'no-such-rule': {} } }, 'rules.no-such-rule: no rule has this id'],
    ];
    for (const [content, message] of cases) {
      const file = join(dir, 'bad.json');
      writeFileSync(file, JSON.stringify(content));
      const r = await cli(['scan', fixture, '--config', file], deps);
      expect(r.code).toBe(2);
      expect(r.stderr).toContain(`--config ${file}: `);
      expect(r.stderr).toContain(message);
    }
    writeFileSync(join(dir, 'broken.json'), '{');
    const broken = await cli(['scan', fixture, '--config', join(dir, 'broken.json')], deps);
    expect(broken.code).toBe(2);
    expect(broken.stderr).toContain('not valid JSON');
  });
});

describe('credwatch scan failures', () => {
  it('reports a crash in a reader as an internal error with exit 2, never as findings', async () => {
    const r = await cli(['scan', 'x.jsonl'], {
      rules: TEST_RULES,
      readInputs: () => ({
        [Symbol.asyncIterator]: () => ({
          next: () => Promise.reject(new TypeError('boom')),
        }),
      }),
    });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('  FAILED x.jsonl: boom\n');
  });

  it('turns an invalid rule option into a usage error naming the option', async () => {
    const file = join(dir, 'opts.json');
    writeFileSync(file, JSON.stringify({ rules: { 'test-secret-list': { threshold: 'x' } } }));
    const withSchema = [{ ...TEST_RULES[0]!, options: z.strictObject({}) }, TEST_RULES[1]!];
    const r = await cli(['scan', fixture, '--config', file], { rules: withSchema });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('rules.test-secret-list.');
    expect(r.stderr).toContain('threshold');
  });
});
