import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { Engine } from '../../core/engine/engine.js';
import { Pipeline } from '../../core/engine/pipeline.js';
import { REJECTION_REASONS, rejected } from '../../core/model/parse-result.js';
import { k8sEvent } from '../../examples/audit-records.js';
import { formatSummary } from '../../functions/cli/summary.js';
import { runCli } from '../../functions/cli/run-cli.js';
import { cli, TEST_RULES } from './cli-harness.js';

const ESC = '\u001b[';

function lines(text: string): string[] {
  return text.replace(/\n$/, '').split('\n');
}

describe('the findings table', () => {
  for (const columns of [80, 200]) {
    it(`fits a ${columns}-column terminal, one group per request`, async () => {
      const r = await cli(['demo'], {}, { NO_COLOR: '1' }, '', { isTTY: true, columns });
      expect(r.code).toBe(0);
      for (const l of lines(r.stdout)) expect(l.length, l).toBeLessThanOrEqual(columns);
      // The CSR approval is judged by three rules: one group, one header line, three rule lines.
      const groups = r.stdout.split('\n\n');
      const approval = groups.filter((g) => g.replace(/\s+/g, ' ').includes('certificatesigningrequests/approval stratus-red-team-csr'));
      expect(approval).toHaveLength(1);
      expect(approval[0]!.startsWith('CRITICAL')).toBe(true);
      const rules = approval[0]!.split('\n').filter((l) => /^ {2}[a-z]/.test(l)).map((l) => l.trim().split(/\s+/)[0]);
      expect(rules).toEqual(['csr-approved-by-non-system', 'csr-issuance-chain', 'csr-privileged-subject']);
      expect(approval[0]!.split('\n').filter((l) => l.startsWith('CRITICAL'))).toHaveLength(1);
    });
  }

  it('wraps a long summary within its own column at 200 columns, under the rule at 80', async () => {
    const wide = lines((await cli(['demo'], {}, { NO_COLOR: '1' }, '', { isTTY: true, columns: 200 })).stdout);
    const chain = wide.findIndex((l) => l.startsWith('  csr-issuance-chain '));
    const column = wide[chain]!.indexOf('CSR stratus-red-team-csr');
    expect(column).toBeGreaterThan(30);
    // Its continuation starts under the summary, not at column 0.
    expect(wide[chain + 1]!.slice(0, column).trim()).toBe('');
    expect(wide[chain + 1]!.length).toBeGreaterThan(column);
    const narrow = lines((await cli(['demo'], {}, { NO_COLOR: '1' }, '', { isTTY: true, columns: 80 })).stdout);
    const at = narrow.findIndex((l) => l.startsWith('  csr-issuance-chain '));
    expect(narrow[at]!.trim()).toBe('csr-issuance-chain              critical');
    expect(narrow[at + 1]!).toMatch(/^ {4}CSR stratus-red-team-csr in gke-prod-1: create by/);
  });

  it('is plain when piped: no colour, no wrapping, one line per finding', async () => {
    const r = await cli(['demo']);
    expect(r.stdout).not.toContain(ESC);
    const chain = lines(r.stdout).find((l) => l.startsWith('  csr-issuance-chain '))!;
    expect(chain).toMatch(/create by .* → delete by sam@acme\.example$/);
  });

  it('colours severities on a terminal, and not with NO_COLOR or --no-color', async () => {
    const tty = { isTTY: true, columns: 120 };
    const coloured = await cli(['demo'], {}, {}, '', tty);
    expect(coloured.stdout).toMatch(/\u001b\[31m\u001b\[1mCRITICAL/);
    expect(coloured.stdout).toContain(`${ESC}33mMEDIUM`);
    expect((await cli(['demo'], {}, { NO_COLOR: '1' }, '', tty)).stdout).not.toContain(ESC);
    expect((await cli(['demo', '--no-color'], {}, {}, '', tty)).stdout).not.toContain(ESC);
    // The summary on stderr is never coloured.
    expect(coloured.stderr).not.toContain(ESC);
  });
});

describe('exit codes tell the truth', () => {
  const dir = mkdtempSync(join(tmpdir(), 'credwatch-exit-'));
  const png = join(dir, 'diagram.png');
  writeFileSync(png, Buffer.from('89504e470d0a1a0a0000000d4948445200000010000000100806000000', 'hex'));
  const random = join(dir, 'random.bin');
  writeFileSync(random, Buffer.from(Array.from({ length: 4096 }, (_, i) => (i * 7919 + 13) % 256)));
  const empty = join(dir, 'empty.log');
  writeFileSync(empty, '');
  const folder = join(dir, 'empty-folder');
  mkdirSync(folder);
  const klog = join(dir, 'klog.txt');
  writeFileSync(klog, 'I0302 09:00:00.000000 1 main.go:1] started\n');

  for (const [what, path, reason] of [
    ['a PNG', png, /diagram\.png: \d+ records?, none of them an audit or runtime event/],
    ['random bytes', random, /random\.bin: \d+ records?, none of them/],
    ['an empty file', empty, /empty\.log: no records/],
    ['an empty folder', folder, /empty-folder: no records \(an empty file, or a folder with no files in it\)/],
    ['text that is not an audit log', klog, /klog\.txt: 1 record, none of them/],
  ] as const) {
    it(`${what} is exit 2 with the reason, also with --fail-on info`, async () => {
      for (const extra of [[], ['--fail-on', 'info']]) {
        const r = await cli(['scan', path, ...extra], { rules: TEST_RULES });
        expect(r.code).toBe(2);
        expect(r.stdout).toBe('');
        expect(r.stderr).toContain('credwatch: nothing was scanned: no input yielded an audit or runtime event.');
        expect(r.stderr).toMatch(reason);
        // Bytes of a binary file never reach the terminal raw.
        expect(r.stderr).not.toMatch(/[\u0000-\u0008\u000e-\u001f\ufffd]/);
      }
    });
  }

  it('a good file beside a bad one is scanned: exit 0, the bad one counted', async () => {
    const good = join(dir, 'good.jsonl');
    writeFileSync(good, JSON.stringify(k8sEvent({ verb: 'get', user: 'u', resource: 'pods' })) + '\n');
    const r = await cli(['scan', good, png], { rules: TEST_RULES });
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/rejected malformed-json: \d+/);
  });

  it('a clean scan of real events is exit 0, --fail-on still exit 1', async () => {
    const f = join(dir, 'list.jsonl');
    writeFileSync(f, JSON.stringify(k8sEvent({ verb: 'list', user: 'mallory', resource: 'secrets' })) + '\n');
    expect((await cli(['scan', f], { rules: TEST_RULES })).code).toBe(0);
    expect((await cli(['scan', f, '--fail-on', 'high'], { rules: TEST_RULES })).code).toBe(1);
  });

  it('a misspelt rule option is rejected with its path: exit 2', async () => {
    const config = join(dir, 'typo.json');
    writeFileSync(config, JSON.stringify({ rules: { 'secret-sweep': { thresh: 15 } } }));
    const f = join(dir, 'one.jsonl');
    writeFileSync(f, JSON.stringify(k8sEvent({ verb: 'get', user: 'u', resource: 'pods' })) + '\n');
    const r = await cli(['scan', f, '--config', config]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`--config ${config}: rules.secret-sweep.thresh: unknown option (known: `);
  });
});

describe('the summary lists every rejection reason', () => {
  async function tallyWith(counts: number[]) {
    const pipeline = new Pipeline({ engine: new Engine({ rules: TEST_RULES }) });
    const batch = counts.flatMap((n, i) => Array.from({ length: n }, (_, k) => rejected({ source: 'x.jsonl', line: k + 1 }, REJECTION_REASONS[i]!, `detail ${i}`)));
    await pipeline.processBatch(batch);
    return pipeline.tally();
  }

  it('shows all reasons when there are six or fewer', async () => {
    const t = await tallyWith([6, 5, 4, 3, 2, 1]);
    const text = formatSummary({ tally: t, notices: [], failures: [], minSeverity: 'info' });
    expect(text.match(/^ {2}rejected [a-z-]+: /gm)).toHaveLength(6);
    expect(text).not.toContain('more reasons');
  });

  it('shows five and sums the rest, so the lines add up to the rejected count', async () => {
    const counts = [8, 7, 6, 5, 4, 3, 2, 1];
    const t = await tallyWith(counts);
    const text = formatSummary({ tally: t, notices: [], failures: [], minSeverity: 'info' });
    const shown = [...text.matchAll(/^ {2}rejected [a-z-]+: (\d+)/gm)].map((m) => Number(m[1]));
    expect(shown).toEqual([8, 7, 6, 5, 4]);
    const rest = /^ {2}rejected, and 3 more reasons: (\d+) \((.+)\)$/m.exec(text);
    expect(rest).not.toBeNull();
    expect(Number(rest![1])).toBe(3 + 2 + 1);
    expect(rest![2]).toBe(`${REJECTION_REASONS[5]} 3, ${REJECTION_REASONS[6]} 2, ${REJECTION_REASONS[7]} 1`);
    expect(shown.reduce((a, b) => a + b, 0) + Number(rest![1])).toBe(t.rejected.total);
  });
});

describe('watch', () => {
  it('refuses file arguments and says to use scan', async () => {
    const r = await cli(['watch', 'audit.log', '--eks', 'c1']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('watch reads live sources (--eks, --aks, --gke), not files; to scan audit.log, use scan: credwatch scan audit.log');
  });
});

describe('progress on a terminal', () => {
  function terminal() {
    const chunks: string[] = [];
    const stream = Object.assign(
      new Writable({
        write(c: Buffer | string, _e, done) {
          chunks.push(c.toString());
          done();
        },
      }),
      { isTTY: true, columns: 100 },
    );
    return { stream, text: () => chunks.join('') };
  }

  it('counts the bytes read from stdin', async () => {
    const err = terminal();
    const out = terminal();
    const { Readable } = await import('node:stream');
    const stdin = Readable.from([JSON.stringify(k8sEvent({ verb: 'get', user: 'u', resource: 'pods' })) + '\n']);
    const code = await runCli(['scan', '-', '--format', 'jsonl'], { stdout: out.stream, stderr: err.stream, stdin, env: {}, isTTY: true }, { rules: TEST_RULES });
    expect(code).toBe(0);
    expect(err.text()).toMatch(/reading stdin: 0\.0 MB/);
  });

  it('shows pages and events per live source', async () => {
    const err = terminal();
    const out = terminal();
    const { parseAnyRecord } = await import('../../adapters/file/detect.js');
    const { asEks } = await import('../../examples/audit-records.js');
    const page = (n: number) => ({ page: n, outcomes: parseAnyRecord(asEks(k8sEvent({ verb: 'list', user: 'mallory', resource: 'secrets', auditID: `id-${n}` })), { source: 'fake', page: n }, { cluster: 'c1' }) });
    const source = { name: 'eks:c1', cloud: 'eks' as const, async *read() { yield page(1); yield page(2); } };
    const sources = { eks: async () => source, aks: async () => source, gke: async () => source };
    const code = await runCli(['scan', '--eks', 'c1', '--region', 'us-west-2', '--since', '1h', '--format', 'jsonl'], { stdout: out.stream, stderr: err.stream, stdin: process.stdin, env: {}, isTTY: true }, { rules: TEST_RULES, sources });
    expect(code).toBe(0);
    expect(err.text()).toContain('eks:c1: connecting…');
    expect(err.text()).toContain('eks:c1: 2 pages, 2 events (2 records)');
  });

  it('reads a .gz by its compressed bytes against its size on disk', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'credwatch-gz-'));
    const f = join(dir, 'big.jsonl.gz');
    const line = JSON.stringify(k8sEvent({ verb: 'get', user: 'u', resource: 'pods' })) + '\n';
    writeFileSync(f, gzipSync(line.repeat(2000)));
    const seen: Array<{ bytesRead: number; totalBytes?: number }> = [];
    const { readInputs } = await import('../../adapters/file/read.js');
    for await (const batch of readInputs([f], { onProgress: (p) => seen.push(p) })) void batch;
    const last = seen[seen.length - 1]!;
    const size = (await import('node:fs')).statSync(f).size;
    expect(last.totalBytes).toBe(size);
    expect(last.bytesRead).toBe(size);
  });
});
