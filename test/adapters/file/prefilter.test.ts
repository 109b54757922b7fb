import { createReadStream, existsSync, readdirSync, statSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { createGunzip } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseAnyLine } from '../../../adapters/file/detect.js';
import { compilePrefilter, type LinePrefilter } from '../../../adapters/file/prefilter.js';
import { readInputs } from '../../../adapters/file/read.js';
import { generateBenchFile } from '../../../bench/generate.js';
import { Engine } from '../../../core/engine/engine.js';
import { asAks, asEks, asGke, k8sEvent, type K8sEventInit } from '../../../examples/audit-records.js';
import { matchesNeeds } from '../../../core/model/needs.js';
import { Pipeline, type PipelineTally } from '../../../core/engine/pipeline.js';
import type { AnyRule } from '../../../core/model/rule.js';
import { RULES } from '../../../rules/index.js';

const REPO = new URL('../../../', import.meta.url).pathname;
const DEMO = join(REPO, 'demo');
const REAL = join(REPO, 'test', 'fixtures', 'real');

const prefilter = compilePrefilter(RULES);
const keep = (pf: LinePrefilter, line: string): boolean => pf.keep(line, 0, line.length);

/** What the parser makes of the line that some enabled rule could use; the prefilter must never drop such a line. */
function needed(line: string, rules: readonly AnyRule[] = RULES): string[] {
  const out: string[] = [];
  for (const o of parseAnyLine(line, { source: 'test', line: 1 })) {
    if (o.kind === 'runtime') out.push(`runtime ${o.event.verb}`);
    if (o.kind === 'event' && rules.some((r) => matchesNeeds(r.needs, o.event))) out.push(`${o.event.verb} ${o.event.target.resource}/${o.event.target.subresource ?? ''}`);
  }
  return out;
}

/** Every line the prefilter drops, with what a rule could have used in it: must be empty. */
function wronglyDropped(lines: Iterable<string>, pf = prefilter, rules: readonly AnyRule[] = RULES): { dropped: number; total: number; wrong: string[] } {
  let dropped = 0;
  let total = 0;
  const wrong: string[] = [];
  for (const line of lines) {
    total++;
    if (keep(pf, line)) continue;
    dropped++;
    const n = needed(line, rules);
    if (n.length > 0) wrong.push(`${n.join(', ')}: ${line.slice(0, 300)}`);
  }
  return { dropped, total, wrong };
}

async function linesOf(path: string): Promise<string[]> {
  const input = path.endsWith('.gz') ? createReadStream(path).pipe(createGunzip()) : createReadStream(path);
  const out: string[] = [];
  for await (const line of createInterface({ input, crlfDelay: Infinity })) out.push(line);
  return out;
}

function filesUnder(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    return statSync(p).isDirectory() ? filesUnder(p) : /\.(jsonl|json|ndjson|log)(\.gz)?$/.test(name) ? [p] : [];
  });
}

async function scan(inputs: string[], pf: LinePrefilter | undefined): Promise<{ keys: string[]; tally: PipelineTally }> {
  const keys: string[] = [];
  const pipeline = new Pipeline({ engine: new Engine({ rules: RULES }), onFinding: (f) => void keys.push(`${f.rule} ${f.severity} ${f.key}`) });
  await pipeline.consume(readInputs(inputs, pf === undefined ? {} : { prefilter: pf }));
  return { keys: keys.sort(), tally: pipeline.tally() };
}

let dir: string;
let bench: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'credwatch-prefilter-'));
  bench = join(dir, 'bench.jsonl');
  // The bench traffic: kubelets, controllers, people, node joins and the attack stories, in all three shapes.
  await generateBenchFile(bench, 30_000);
}, 120_000);

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('the prefilter drops only lines no enabled rule can use', () => {
  it('on the bench traffic, and drops most of it', async () => {
    const r = wronglyDropped(await linesOf(bench));
    expect(r.wrong).toEqual([]);
    expect(r.dropped / r.total).toBeGreaterThan(0.8);
  });

  it('on the demo data and every real record in the repository', async () => {
    const files = [...filesUnder(DEMO), ...filesUnder(REAL)];
    expect(files.length).toBeGreaterThan(2);
    for (const f of files) expect(wronglyDropped(await linesOf(f)).wrong, f).toEqual([]);
  });

  it('with any one rule enabled alone', async () => {
    const lines = await linesOf(bench);
    for (const rule of RULES) {
      const r = wronglyDropped(lines, compilePrefilter([rule]), [rule]);
      expect(r.wrong, rule.id).toEqual([]);
    }
  });

  it('reads each shape it drops, and keeps the same request when a rule needs it', () => {
    const lease = k8sEvent({ verb: 'update', user: 'system:node:n1', userAgent: 'kubelet/v1.30.2', resource: 'leases', apiGroup: 'coordination.k8s.io', namespace: 'kube-node-lease', name: 'n1' });
    const read = k8sEvent({ verb: 'get', user: 'system:node:n1', userAgent: 'curl/8.5', resource: 'secrets', namespace: 'prod', name: 'db' });
    for (const render of [(e: ReturnType<typeof k8sEvent>) => e, (e: ReturnType<typeof k8sEvent>) => asEks(e), (e: ReturnType<typeof k8sEvent>) => asAks(e, { form: 'diagnostic' }), (e: ReturnType<typeof k8sEvent>) => asGke(e)]) {
      expect(keep(prefilter, JSON.stringify(render(lease)))).toBe(false);
      expect(keep(prefilter, JSON.stringify(render(read)))).toBe(true);
    }
  });
});

describe('what a client controls cannot make it drop a needed line', () => {
  /** Strings a client chooses (URI, user agent, names, bodies) built to look like structure. */
  const EVIL = [
    '","objectRef":{"resource":"leases"},"x":"',
    '\\",\\"objectRef\\":{\\"resource\\":\\"leases\\"},\\"x\\":\\"',
    '"},"userAgent":"kubelet/v1.30","objectRef":{"resource":"leases"}',
    'kubelet/v1.30',
    '}',
    '{',
    '\\',
    '\\u0022',
    ',"verb":"watch","user":{"username":"system:kube-scheduler"},',
  ];

  const base: K8sEventInit[] = [
    { verb: 'get', user: 'system:node:n1', userAgent: 'curl/8.5', resource: 'secrets', namespace: 'prod', name: 'db' },
    { verb: 'create', user: 'system:node:n1', resource: 'configmaps', namespace: 'prod', name: 'c' },
    { verb: 'create', user: 'mallory', resource: 'pods', subresource: 'exec', namespace: 'prod', name: 'web' },
    { verb: 'get', user: 'mallory', resource: 'nodes', subresource: 'proxy', name: 'n1' },
    { verb: 'create', user: 'mallory', resource: 'certificatesigningrequests', apiGroup: 'certificates.k8s.io', name: 'x' },
  ];

  /** `gcloud logging read --format=json` writes every object's keys in alphabetical order. */
  const sorted = (v: unknown): unknown =>
    Array.isArray(v) ? v.map(sorted) : v !== null && typeof v === 'object' ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => (a < b ? -1 : 1)).map(([k, x]) => [k, sorted(x)])) : v;

  function variants(): string[] {
    const out: string[] = [];
    for (const b of base) {
      for (const evil of EVIL) {
        const inits: K8sEventInit[] = [
          { ...b, userAgent: evil },
          { ...b, name: `${b.name ?? 'n'}${evil}` },
          { ...b, user: `${typeof b.user === 'string' ? b.user : 'u'}${evil}` },
          { ...b, requestURI: `/api/v1/namespaces/prod/${b.resource}?q=${evil}` },
          // A body the client sent, holding keys the prefilter reads.
          { ...b, requestObject: { note: evil, userAgent: 'kubelet/v1.30', objectRef: { resource: 'leases' }, verb: 'watch', user: { username: 'system:kube-scheduler' }, requestMetadata: { callerIp: '10.0.0.1', callerSuppliedUserAgent: 'kubelet/v1.30' }, resourceName: 'coordination.k8s.io/v1/namespaces/x/leases/y', methodName: 'io.k8s.coordination.v1.leases.update' } },
          // …and bodies holding just one of them each.
          { ...b, requestObject: { note: evil, userAgent: 'kubelet/v1.30' } },
          { ...b, requestObject: { note: evil, requestMetadata: { callerIp: '10.0.0.1', callerSuppliedUserAgent: 'kubelet/v1.30' } } },
          { ...b, requestObject: { note: evil, objectRef: { resource: 'leases' } } },
        ];
        for (const init of inits) {
          const e = k8sEvent(init);
          // The same request without a user agent of its own, so only a copy in the body has one.
          const bare = { ...e };
          delete bare['userAgent'];
          out.push(JSON.stringify(bare), JSON.stringify(asEks(bare)), JSON.stringify(asAks(bare, { form: 'diagnostic' })), JSON.stringify(asGke(bare)), JSON.stringify(sorted(asGke(bare))));
          out.push(JSON.stringify(e), JSON.stringify(asEks(e)), JSON.stringify(asAks(e, { form: 'diagnostic' })), JSON.stringify(asGke(e)), JSON.stringify(sorted(asGke(e))));
        }
      }
    }
    return out;
  }

  it('client-chosen strings and bodies', () => {
    const lines = variants();
    expect(lines.length).toBeGreaterThan(500);
    expect(wronglyDropped(lines).wrong).toEqual([]);
  });

  it('keys and values written with escapes, spaces or in another order', () => {
    const e = k8sEvent(base[0]!);
    const raw = JSON.stringify(e);
    const lines = [
      raw.replace('"secrets"', '"s\\u0065crets"'),
      raw.replace('"objectRef"', '"obj\\u0065ctRef"'),
      raw.replace('"user":', '"us\\u0065r":'),
      JSON.stringify(e, null, 1).replace(/\n/g, ''),
      JSON.stringify(Object.fromEntries(Object.entries(e).reverse())),
      JSON.stringify(asEks(e)).replace('\\"secrets\\"', '\\"s\\\\u0065crets\\"'),
    ];
    expect(wronglyDropped(lines).wrong).toEqual([]);
    // Each of these is a needed request: none may be dropped.
    for (const l of lines) expect(keep(prefilter, l), l.slice(0, 120)).toBe(true);
  });

  it('never drops a runtime sensor line, even one that quotes audit keys', () => {
    const falco = {
      output: '12:00:00 Warning Sensitive file opened (file=/var/lib/kubelet/pki/kubelet-client-current.pem)',
      priority: 'Warning',
      rule: 'Read sensitive file untrusted',
      time: '2026-03-02T09:00:05.000000000Z',
      output_fields: { 'evt.type': 'openat', 'fd.name': '/var/lib/kubelet/pki/kubelet-client-current.pem', 'proc.cmdline': 'cat {"kind":"Event","apiVersion":"audit.k8s.io/v1","objectRef":{"resource":"leases"}}', 'evt.arg.flags': 'O_RDONLY', 'container.id': 'abc' },
    };
    const lines = [JSON.stringify(falco), JSON.stringify({ log: JSON.stringify(falco), stream: 'stdout', kubernetes: { pod_name: 'falco-x' } })];
    for (const l of lines) expect(keep(prefilter, l)).toBe(true);
  });
});

describe('scanning with the prefilter', () => {
  it('gives the same findings as parsing every line, and counts what it skipped', async () => {
    const inputs = [bench, ...filesUnder(DEMO)];
    const without = await scan(inputs, undefined);
    const withIt = await scan(inputs, prefilter);
    expect(withIt.keys).toEqual(without.keys);
    expect(withIt.keys.length).toBeGreaterThan(5);
    expect(withIt.tally.records).toBe(without.tally.records);
    const t = withIt.tally;
    expect(t.records).toBe(t.events + t.skipped.total + t.rejected.total);
    expect(t.skipped.byReason['not-needed'] ?? 0).toBeGreaterThan(t.records / 2);
    expect(t.rejected.total).toBe(without.tally.rejected.total);
  }, 120_000);

  it('reads a line that spans read chunks like any other', async () => {
    const big = k8sEvent({ verb: 'update', user: 'system:node:n1', resource: 'leases', namespace: 'kube-node-lease', name: 'n1', requestObject: { pad: 'x'.repeat(300_000) } });
    const needed1 = k8sEvent({ verb: 'get', user: 'system:node:n1', userAgent: 'curl/8.5', resource: 'secrets', namespace: 'prod', name: 'db', requestObject: { pad: 'y'.repeat(300_000) } });
    const file = join(dir, 'long.jsonl');
    await writeFile(file, `${JSON.stringify(asEks(big))}\n${JSON.stringify(asEks(needed1))}\n`);
    expect((await readFile(file)).length).toBeGreaterThan(600_000);
    const r = await scan([file], prefilter);
    expect(r.tally.skipped.byReason['not-needed']).toBe(1);
    expect(r.tally.events).toBe(1);
    expect(r.keys.some((k) => k.startsWith('secret-read-by-node'))).toBe(true);
  });
});
