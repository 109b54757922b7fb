import { describe, expect, it } from 'vitest';
import { cli, TEST_RULES } from './cli-harness.js';

describe('credwatch rules', () => {
  it('lists id, severity, title, MITRE and cloud coverage', async () => {
    const r = await cli(['rules'], { rules: TEST_RULES });
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(
      [
        'ID                  SEVERITY  TITLE           MITRE      CLOUDS',
        'test-secret-list    high      Secrets listed  T1552.007  eks:full aks:full gke:partial',
        'test-configmap-get  low       ConfigMap read  T1613      eks:full aks:full gke:none',
        '',
      ].join('\n'),
    );
  });

  it('writes one JSON object per rule with --format jsonl', async () => {
    const r = await cli(['rules', '--format', 'jsonl'], { rules: TEST_RULES });
    const rows = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(rows[1]).toEqual({
      id: 'test-configmap-get',
      title: 'ConfigMap read',
      severity: 'low',
      mitre: ['T1613'],
      clouds: { eks: 'full', aks: 'full', gke: 'none: not logged' },
      needs: { resources: ['configmaps'], verbs: ['get'] },
      description: 'test rule',
    });
  });
});

describe('credwatch --help', () => {
  it('shows the commands and examples, exit 0', async () => {
    const r = await cli(['--help']);
    expect(r.code).toBe(0);
    for (const text of ['Usage: credwatch', 'scan [options] [inputs...]', 'rules [options]', 'demo [options]', '$ credwatch demo']) {
      expect(r.stdout).toContain(text);
    }
  });

  it('shows every scan option with examples', async () => {
    const r = await cli(['scan', '--help']);
    expect(r.code).toBe(0);
    for (const flag of ['--format', '--min-severity', '--rules', '--cluster', '--fail-on', '--config', '--eks', '--region', '--profile', '--aks', '--aks-cluster', '--gke', '--gke-cluster', '--since', '--from', '--to']) {
      expect(r.stdout).toContain(flag);
    }
    expect(r.stdout).toContain('$ credwatch scan --eks prod-eks-1 --region us-west-2 --since 2h');
    expect(r.stdout).toContain('Exit codes: 0');
  });

  it('prints usage and exits 2 with no command', async () => {
    const r = await cli([]);
    expect(r.code).toBe(2);
    expect(r.stdout).toContain('Usage: credwatch');
  });
});
