import { describe, expect, it } from 'vitest';
import { rejected, skipped } from '../../../core/model/parse-result.js';
import { defineRule } from '../../../core/model/rule.js';
import { runScheduledScan } from '../../../core/scan/scan.js';
import type { LogSource, ScanWindow, SourcePage } from '../../../core/model/source.js';
import { MemoryStateStore } from '../../../core/scan/state/memory-store.js';
import { RecordingSink } from '../../helpers/recording-sink.js';
import { everySecretGet, secretGet } from '../../helpers/scripted-source.js';

const NOW = Date.parse('2026-03-02T09:00:00Z');

/** One page: an event, a bad record and a record of another category. */
const mixedSource: LogSource = {
  name: 'eks:c1',
  cloud: 'eks',
  cluster: 'c1',
  async *read(_w: ScanWindow): AsyncIterable<SourcePage> {
    yield {
      page: 1,
      outcomes: [
        { kind: 'event', event: secretGet({ time: NOW - 60_000, id: 'ok-1' }) },
        rejected({ source: 'eks:c1', page: 1, index: 1 }, 'malformed-json', 'Unexpected end of JSON input'),
        skipped({ source: 'eks:c1', page: 1, index: 2 }, 'not-audit'),
      ],
    };
  },
};

const throwing = defineRule({ ...everySecretGet, id: 'test-throws', evaluate: () => { throw new Error('boom'); } });

describe('scan summary', () => {
  it('counts every record and names what it could not use', async () => {
    const summary = await runScheduledScan({
      sources: [mixedSource],
      engine: { rules: [everySecretGet, throwing] },
      store: new MemoryStateStore(),
      sink: new RecordingSink(),
      settings: { alertMinSeverity: 'low' },
      clock: () => new Date(NOW),
    });
    const s = summary.sources[0]!;
    expect(s).toMatchObject({ status: 'ok', records: 3, events: 1, skipped: { 'not-audit': 1 }, rejected: { 'malformed-json': 1 }, ruleErrors: 1, findings: 1, alertsSent: 1 });
    expect(s.warnings).toEqual([
      'rejected malformed-json at eks:c1 page 1#1: Unexpected end of JSON input',
      'rule test-throws failed on event ok-1: boom',
    ]);
  });
});
