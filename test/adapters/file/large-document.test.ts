import { readFileSync } from 'node:fs';
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { ArrayStreamer, RecordCounter } from '../../../adapters/file/json-stream.js';
import { readInputs, type ReadInputsOptions } from '../../../adapters/file/read.js';
import { asEks, k8sEvent } from '../../../examples/audit-records.js';
import type { ParseOutcome } from '../../../core/model/parse-result.js';

/** A real GKE audit entry (Panther's GCP audit-log parser test), repeated with its own insertId: the exact shape, many records. */
const real = JSON.parse(readFileSync(new URL('../../fixtures/real/panther/gke-nodes-proxy-cadvisor.jsonl', import.meta.url), 'utf8')) as Record<string, unknown>;
const entries = (n: number) => Array.from({ length: n }, (_, i) => ({ ...real, insertId: `e${i}`, operation: { id: `e${i}`, producer: 'k8s.io', first: true } }));
const LIMITS = { streamDocumentChars: 256 * 1024, maxDocumentChars: 1024 * 1024 };

async function read(text: string, options: ReadInputsOptions = {}, pieces = 64 * 1024): Promise<ParseOutcome[]> {
  const chunks: Buffer[] = [];
  const buf = Buffer.from(text);
  for (let i = 0; i < buf.length; i += pieces) chunks.push(buf.subarray(i, i + pieces));
  const out: ParseOutcome[] = [];
  for await (const batch of readInputs(['-'], { stdin: Readable.from(chunks), limits: LIMITS, ...options })) out.push(...batch);
  return out;
}

const tally = (outcomes: ParseOutcome[]) => {
  const t: Record<string, number> = {};
  for (const o of outcomes) {
    const k = o.kind === 'rejected' ? `rejected:${o.rejection.reason}` : o.kind === 'skipped' ? `skipped:${o.skip.reason}` : o.kind;
    t[k] = (t[k] ?? 0) + 1;
  }
  return t;
};

describe('documents over the size limits', () => {
  it('streams a top-level array record by record, whatever its size, and counts every record', async () => {
    const docs = entries(21_398);
    const text = JSON.stringify(docs, null, 2);
    expect(text.length).toBeGreaterThan(LIMITS.maxDocumentChars * 20);
    const out = await read(text);
    expect(tally(out)).toEqual({ event: 21_398 });
    expect(out.map((o) => (o.kind === 'event' ? o.event.origin.index : -1)).slice(0, 3)).toEqual([0, 1, 2]);
    expect(out.at(-1)?.kind === 'event' && out.at(-1)?.kind === 'event' ? (out.at(-1) as { event: { id: string } }).event.id : '').toBe('e21397');
  });

  it('reads the records of a streamed array up to where it is cut, and says where it stopped', async () => {
    const text = JSON.stringify(entries(600));
    const out = await read(text.slice(0, text.length - 500));
    const t = tally(out);
    expect(t['event']).toBe(599);
    const last = out.at(-1);
    expect(last?.kind === 'rejected' && [last.rejection.reason, last.rejection.origin.index, last.rejection.detail]).toEqual([
      'malformed-json', 599, 'JSON document: the document ends inside the array (in element 599); the 599 records before it were read, nothing after it',
    ]);
  });

  it('rejects an object envelope over the limit whole, with one rejection per record it held', async () => {
    const events = Array.from({ length: 3000 }, (_, i) => asEks(k8sEvent({ verb: 'get', user: 'u', resource: 'secrets', name: `s${i}` })));
    const text = JSON.stringify({ events, searchedLogStreams: [{ logStreamName: 'kube-apiserver-audit-1', searchedCompletely: true }] }, null, 2);
    expect(text.length).toBeGreaterThan(LIMITS.maxDocumentChars);
    const out = await read(text);
    expect(tally(out)).toEqual({ 'rejected:too-large': 3000 });
    expect(out[0]?.kind === 'rejected' && out[0].rejection.detail).toMatch(/^JSON document of \d+ chars exceeds 1048576: an object this large cannot be parsed whole; split it or export JSON lines$/);
    // Under the limit the same envelope is parsed whole, as before.
    expect(tally(await read(JSON.stringify({ events: events.slice(0, 100) }, null, 2)))).toEqual({ event: 100 });
  });

  it('scans structure, not text: brackets and commas inside strings, escapes, nested arrays', () => {
    const seen: string[] = [];
    const s = new ArrayStreamer((e) => seen.push(e.text ?? `#${e.chars}`), 40);
    const doc = '[ {"a":"x,]}\\"["}, [1,[2]] ,"s\\\\", 7 , {"long":"' + 'y'.repeat(50) + '"}]';
    for (const ch of doc) s.write(ch);
    s.end();
    expect(s.problem).toBeUndefined();
    expect(seen).toEqual(['{"a":"x,]}\\"["}', '[1,[2]] ', '"s\\\\"', '7 ', '#61']);
    const c = new RecordCounter();
    c.write('{"meta":{"events":[1,2]},"events":[{"x":[1,2,3]},"two",3],"records":[],"other":[1,2]}');
    expect(c.count).toBe(3);
  });
});
