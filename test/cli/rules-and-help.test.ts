import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { RULES } from '../../rules/index.js';
import { coverageLabel } from '../../functions/cli/render.js';
import { cli, TEST_RULES } from './cli-harness.js';

/** The real entry point with its stdout read by a reader that closes after one line, like `head -1`. */
function pipedToHead(args: string[]): Promise<{ code: number | null; stderr: string; firstLine: string }> {
  const main = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'functions', 'cli', 'main.ts');
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', main, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    let buffered = '';
    let firstLine: string | undefined;
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    child.stdout.on('data', (c: Buffer) => {
      buffered += c.toString();
      const nl = buffered.indexOf('\n');
      if (nl >= 0 && firstLine === undefined) {
        firstLine = buffered.slice(0, nl);
        child.stdout.destroy();
      }
    });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stderr, firstLine: firstLine ?? '' }));
  });
}

describe('credwatch rules', () => {
  it('lists id, severity, title, MITRE and cloud coverage', async () => {
    const r = await cli(['rules'], { rules: TEST_RULES });
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(
      [
        'ID                  SEVERITY  EKS   AKS   GKE      K8S   MITRE      TITLE',
        'test-secret-list    high      full  full  partial  full  T1552.007  Secrets listed',
        'test-configmap-get  low       full  full  none     none  T1613      ConfigMap read',
        '',
      ].join('\n'),
    );
  });

  it('labels coverage as the rule states it: a note after "full" is still full', () => {
    expect(coverageLabel('full')).toBe('full');
    expect(coverageLabel('full (Admin Activity log)')).toBe('full');
    expect(coverageLabel('full: the command is in requestURI')).toBe('full');
    expect(coverageLabel('full; the managed signer issues no kube-apiserver-client certificates')).toBe('full');
    expect(coverageLabel('full when the audit policy logs Secret reads at Metadata')).toBe('full');
    expect(coverageLabel('full for writes; the read step needs Data Access logs')).toBe('partial');
    expect(coverageLabel('Data Access logs only')).toBe('partial');
    expect(coverageLabel('none: GKE does not log exec commands')).toBe('none');
    expect(coverageLabel(undefined)).toBe('none');
    expect(coverageLabel('fullness')).toBe('partial');
  });

  it('shows every real rule with the label of its own coverage sentence, in columns at 200 and two lines at 80', async () => {
    const clouds = ['eks', 'aks', 'gke', 'k8s'] as const;
    const wide = await cli(['rules'], {}, { NO_COLOR: '1' }, '', { isTTY: true, columns: 200 });
    const wideLines = wide.stdout.trimEnd().split('\n');
    expect(wideLines[0]).toMatch(/^ID +SEVERITY +EKS +AKS +GKE +K8S +MITRE +TITLE$/);
    for (const rule of RULES) {
      const cells = wideLines.find((l) => l.startsWith(`${rule.id} `))!.split(/\s+/);
      expect(cells.slice(2, 6), rule.id).toEqual(clouds.map((c) => coverageLabel(rule.clouds[c])));
    }
    const narrow = await cli(['rules'], {}, { NO_COLOR: '1' }, '', { isTTY: true, columns: 80 });
    const lines = narrow.stdout.trimEnd().split('\n');
    for (const l of lines) expect(l.length, l).toBeLessThanOrEqual(80);
    const coverageOf = (id: string): string[] => {
      const at = lines.findIndex((l) => l.startsWith(`${id} `));
      expect(at, id).toBeGreaterThanOrEqual(0);
      const line = lines.slice(at + 1).find((l) => l.startsWith('    eks:'))!;
      return line.trim().split(/\s+/).slice(0, 4);
    };
    for (const rule of RULES) expect(coverageOf(rule.id)).toEqual(clouds.map((c) => `${c}:${coverageLabel(rule.clouds[c])}`));
    // "full (Admin Activity log)" is full, as the rule says, not "partial".
    expect(RULES.find((x) => x.id === 'csr-privileged-subject')!.clouds.gke).toMatch(/^full \(/);
    expect(coverageOf('csr-privileged-subject')).toContain('gke:full');
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
      coverage: { eks: 'full', aks: 'full', gke: 'none', k8s: 'none' },
      needs: { resources: ['configmaps'], verbs: ['get'] },
      description: 'test rule',
      whyItMatters: 'test',
      falsePositives: [],
      runbook: ['look'],
      references: [],
    });
  });

  it('stops quietly when the reader of the pipe goes away (rules --format jsonl | head -1)', async () => {
    const r = await pipedToHead(['rules', '--format', 'jsonl']);
    expect(r.code).toBe(0);
    expect(r.stderr).toBe('');
    expect(JSON.parse(r.firstLine) as { id: string }).toMatchObject({ id: RULES[0]!.id });
  });
});

describe('credwatch explain', () => {
  it('prints what the rule detects, why it matters, false positives, runbook, coverage, references and the docs link', async () => {
    const rule = RULES.find((x) => x.id === 'secret-sweep')!;
    const r = await cli(['explain', 'secret-sweep'], {}, { NO_COLOR: '1' }, '', { isTTY: true, columns: 100 });
    expect(r.code).toBe(0);
    const flat = r.stdout.replace(/\s+/g, ' ');
    for (const heading of ['What it detects', 'Why it matters', 'False positives', 'Runbook', 'Coverage', 'References']) expect(r.stdout).toContain(`\n${heading}\n`);
    expect(flat).toContain(rule.description.replace(/\s+/g, ' '));
    expect(flat).toContain(rule.whyItMatters.replace(/\s+/g, ' '));
    for (const fp of rule.falsePositives) expect(flat).toContain(fp.replace(/\s+/g, ' '));
    rule.runbook.forEach((step, i) => expect(flat).toContain(`${i + 1}. ${step.replace(/\s+/g, ' ')}`));
    for (const ref of rule.references) expect(flat).toContain(ref);
    expect(r.stdout).toContain('Documentation: docs/rules-secrets.md#reference-secret-sweep');
    // Lines fit, except a reference URL longer than the line, which is never cut.
    for (const l of r.stdout.split('\n')) if (!/https?:\/\//.test(l)) expect(l.length, l).toBeLessThanOrEqual(100);
  });

  it('rejects an unknown rule and suggests near ids', async () => {
    const r = await cli(['explain', 'sweep']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('no rule has the id "sweep". Did you mean secret-sweep?');
  });
});

describe('credwatch --version', () => {
  it('prints the package version', async () => {
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
    for (const flag of ['--version', '-V']) {
      const r = await cli([flag]);
      expect(r.code).toBe(0);
      expect(r.stdout).toBe(`${pkg.version}\n`);
    }
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
