import { readFileSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseAnyLine, parseAnyRecord } from '../../../adapters/file/detect.js';
import { readInputs } from '../../../adapters/file/read.js';
import { k8sEvent } from '../../../examples/audit-records.js';
import type { ParseOutcome } from '../../../core/model/parse-result.js';
import { Pipeline } from '../../../core/engine/pipeline.js';
import { Engine } from '../../../core/engine/engine.js';
import { RULES } from '../../../rules/index.js';

const real = (path: string) => readFileSync(new URL(`../../fixtures/real/${path}`, import.meta.url), 'utf8');
/** A real Pub/Sub push request body (Grafana Loki's promtail gcplog test), as sent. */
const pushBody = real('loki/gcplog-push-body.json');
/** A real GKE audit entry of a nodes/proxy request (Panther's GCP audit-log parser test). */
const gkeEntry = real('panther/gke-nodes-proxy-cadvisor.jsonl').trimEnd();
const origin = { source: 'in.json' };

const kinds = (outcomes: ParseOutcome[]) =>
  outcomes.map((o) => (o.kind === 'event' ? 'event' : o.kind === 'skipped' ? `skipped:${o.skip.reason}` : o.kind === 'rejected' ? `rejected:${o.rejection.reason}` : o.kind));

/** The push body with its message's data replaced: the exact envelope around another entry. */
function pushOf(entryJson: string): Record<string, unknown> {
  const body = JSON.parse(pushBody) as { message: Record<string, unknown> };
  body.message['data'] = Buffer.from(entryJson).toString('base64');
  return body;
}

describe('Pub/Sub wrappers', () => {
  it('decodes a real push request body and reads the LogEntry in its data', () => {
    // Loki's entry is a k8s_cluster data_access LogEntry with no protoPayload: read, and skipped as not an audit request.
    const out = parseAnyRecord(JSON.parse(pushBody), origin);
    expect(kinds(out)).toEqual(['skipped:not-audit']);
    expect(out[0]!.kind === 'skipped' && out[0]!.skip.detail).toBe('service (none)');
  });

  it('reads a real GKE audit entry inside the real push envelope, the pull output and a bare PubsubMessage', () => {
    const push = pushOf(gkeEntry);
    const pushed = parseAnyRecord(push, origin);
    expect(kinds(pushed)).toEqual(['event']);
    const ev = pushed[0]!.kind === 'event' ? pushed[0]!.event : undefined;
    expect(ev?.target).toMatchObject({ resource: 'nodes', name: 'gke-adx-default-pool-e05a7794-jgln', subresource: 'proxy' });
    expect(ev?.cluster).toBe('the-cluster');
    // `gcloud pubsub subscriptions pull --format=json`: an array of {ackId, message}.
    const pulled = [
      { ackId: 'RVNEUAYWLF1GSFE3GQhoUQ5PXiM_NSAoRRoHIGoKOUY5EnZFUBdPFFxRJkuLbfyo', message: (push as { message: unknown }).message },
      { ackId: 'RVNEUAYWLF1GSFE3GQhoUQ5PXiM_NSAoRRoHIGoKOUY5EnZFUBdPFFxRJkuLbfyp', message: (pushOf(JSON.stringify(k8sEvent({ verb: 'get', user: 'u', resource: 'secrets', name: 's' })))).message },
    ];
    expect(kinds(parseAnyRecord(pulled, origin))).toEqual(['event', 'event']);
    // A Cloud Function's Pub/Sub event: the PubsubMessage itself.
    const bare = { '@type': 'type.googleapis.com/google.pubsub.v1.PubsubMessage', attributes: {}, data: Buffer.from(gkeEntry).toString('base64') };
    expect(kinds(parseAnyRecord(bare, origin))).toEqual(['event']);
    // gzip inside data, and url-safe base64.
    const gz = pushOf('');
    (gz['message'] as Record<string, unknown>)['data'] = gzipSync(gkeEntry).toString('base64url');
    expect(kinds(parseAnyRecord(gz, origin))).toEqual(['event']);
  });

  it('rejects a push body whose data is not base64 or not JSON, and skips an empty one, with reasons', () => {
    const bad = JSON.parse(pushBody) as { message: Record<string, unknown> };
    bad.message['data'] = 'not base64!';
    expect(kinds(parseAnyRecord(bad, origin))).toEqual(['rejected:decode-failed']);
    bad.message['data'] = Buffer.from('plain text line').toString('base64');
    const text = parseAnyRecord(bad, origin);
    expect(kinds(text)).toEqual(['rejected:malformed-json']);
    expect(text[0]!.kind === 'rejected' && text[0]!.rejection.detail).toMatch(/^Pub\/Sub message data: /);
    bad.message['data'] = '';
    expect(kinds(parseAnyRecord(bad, origin))).toEqual(['skipped:empty']);
  });
});

describe('Cloud Storage log-sink files', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'credwatch-sink-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('reads a bucket copied as Logging lays it out: <log id>/YYYY/MM/DD/HH:00:00_HH:59:59_Sn.json, one LogEntry per line', async () => {
    const leaf = join(dir, 'cloudaudit.googleapis.com', 'activity', '2020', '04', '24');
    await mkdir(leaf, { recursive: true });
    const lines = [gkeEntry, gkeEntry.replace('dc7605e6-1e19-4571-8a7a-d23682efcea1', 'second-entry')];
    await writeFile(join(leaf, '06:00:00_06:59:59_S0.json'), `${lines.join('\n')}\n`);
    await writeFile(join(leaf, '07:00:00_07:59:59_S0.json'), `${lines[0]}\n`);
    const out: ParseOutcome[] = [];
    for await (const batch of readInputs([dir])) out.push(...batch);
    expect(kinds(out)).toEqual(['event', 'event', 'event']);
    expect(out.map((o) => (o.kind === 'event' ? `${o.event.origin.source.slice(dir.length)}:${o.event.origin.line}` : ''))).toEqual([
      '/cloudaudit.googleapis.com/activity/2020/04/24/06:00:00_06:59:59_S0.json:1',
      '/cloudaudit.googleapis.com/activity/2020/04/24/06:00:00_06:59:59_S0.json:2',
      '/cloudaudit.googleapis.com/activity/2020/04/24/07:00:00_07:59:59_S0.json:1',
    ]);
  });
});

describe('records nested too deep', () => {
  const deep = (n: number) => `${'['.repeat(n)}${']'.repeat(n)}`;
  const deepEntry = (n: number) => gkeEntry.replace('"status":{"code":0}', `"status":{"code":0},"request":{"deep":${deep(n)}}`);

  it('rejects a record nested 5,000 levels deep with its own reason, and reads the next', () => {
    expect(kinds(parseAnyLine(deepEntry(5000), { source: 'f', line: 2 }))).toEqual(['rejected:too-deep']);
    expect(kinds(parseAnyLine(deepEntry(200), { source: 'f', line: 3 }))).toEqual(['event']);
    // Brackets inside strings do not count.
    const manyInString = gkeEntry.replace('"status":{"code":0}', `"status":{"code":0},"request":{"s":"${'['.repeat(5000)}"}`);
    expect(kinds(parseAnyLine(manyInString, { source: 'f', line: 4 }))).toEqual(['event']);
    // Inside a Pub/Sub message, and in a cut EKS-style raw Event.
    expect(kinds(parseAnyRecord(pushOf(deepEntry(5000)), origin))).toEqual(['rejected:too-deep']);
    const cut = `${JSON.stringify(k8sEvent({ verb: 'get', user: 'u', resource: 'secrets', name: 's' })).slice(0, -1)},"requestObject":${'{"a":'.repeat(5000)}`;
    expect(kinds(parseAnyLine(cut, { source: 'f', line: 5 }))).toEqual(['rejected:too-deep']);
  });

  it('keeps records = events + skipped + rejected through a scan with deep records between alerting ones', async () => {
    const pipeline = new Pipeline({ engine: new Engine({ rules: RULES }) });
    const dir = await mkdtemp(join(tmpdir(), 'credwatch-deep-'));
    try {
      const file = join(dir, 'deep.jsonl');
      await writeFile(file, [gkeEntry, deepEntry(5000), deepEntry(100_000), gkeEntry.replace('dc7605e6-1e19-4571-8a7a-d23682efcea1', 'x')].join('\n'));
      await pipeline.consume(readInputs([file]));
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
    const t = pipeline.tally();
    expect(t.records).toBe(4);
    expect(t.events + t.skipped.total + t.rejected.total).toBe(4);
    expect(t.rejected.byReason['too-deep']?.count).toBe(2);
    expect(t.rejected.byReason['too-deep']?.examples.map((e) => e.where)).toEqual([expect.stringMatching(/deep\.jsonl:2$/), expect.stringMatching(/deep\.jsonl:3$/)]);
  });
});
