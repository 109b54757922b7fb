import type { AuditEvent } from '../../core/model/event.js';
import { SourceError } from '../../core/model/errors.js';
import type { LogSource, ReadOptions, ScanWindow, SourcePage } from '../../core/model/source.js';
import { defineRule } from '../../core/model/rule.js';

/** A record on the ingestion-time axis, as a log service holds it. */
export interface ScriptedRecord {
  ingestedAt: number;
  event: AuditEvent;
}

/**
 * An in-memory log source that honours the LogSource contract exactly: it returns every record
 * ingested in [from, to), in pages, and can be told to fail (a page, or every read) on demand.
 */
export class ScriptedSource implements LogSource {
  readonly cloud = 'eks' as const;
  readonly records: ScriptedRecord[] = [];
  readonly reads: ScanWindow[] = [];
  /** Fail the next N reads at the given page (1-based), after yielding the earlier pages. */
  failures: Array<{ page: number; retryable: boolean }> = [];

  constructor(
    readonly name: string,
    readonly cluster: string,
    private readonly pageSize = 3,
    /** Only records ingested at or before this are visible (the service's "now"). */
    public visibleUntil: () => number = () => Number.POSITIVE_INFINITY,
  ) {}

  add(event: AuditEvent, ingestedAt: number): void {
    this.records.push({ event: { ...event, ingestedAt: new Date(ingestedAt).toISOString() }, ingestedAt });
  }

  async *read(window: ScanWindow, _options: ReadOptions): AsyncIterable<SourcePage> {
    this.reads.push(window);
    const fault = this.failures.shift();
    const limit = this.visibleUntil();
    const inWindow = this.records
      .filter((r) => r.ingestedAt >= window.from.getTime() && r.ingestedAt < window.to.getTime() && r.ingestedAt <= limit)
      .sort((a, b) => a.ingestedAt - b.ingestedAt);
    let page = 0;
    for (let i = 0; i < inWindow.length || page === 0; i += this.pageSize) {
      page++;
      if (fault !== undefined && fault.page === page) {
        throw new SourceError('page-failed', `${this.name}: page ${page} failed (injected)`, { retryable: fault.retryable });
      }
      yield { page, outcomes: inWindow.slice(i, i + this.pageSize).map((r) => ({ kind: 'event' as const, event: r.event })) };
      if (inWindow.length === 0) break;
    }
    if (fault !== undefined && fault.page > page) {
      throw new SourceError('page-failed', `${this.name}: page ${fault.page} failed (injected)`, { retryable: fault.retryable });
    }
  }
}

let counter = 0;
/** A minimal secret-read event; each call gets a fresh audit id unless given. */
export function secretGet(opts: { time: number; id?: string; cluster?: string; user?: string }): AuditEvent {
  counter++;
  return {
    kind: 'audit',
    id: opts.id ?? `audit-${counter}`,
    cloud: 'eks',
    cluster: opts.cluster ?? 'c1',
    time: new Date(opts.time).toISOString(),
    verb: 'get',
    user: { name: opts.user ?? 'mallory', groups: ['system:authenticated'] },
    auth: { method: 'unknown' },
    sourceIPs: ['203.0.113.9'],
    target: { resource: 'secrets', namespace: 'default', name: `s-${counter}` },
    outcome: { result: 'success', code: 200 },
    truncated: false,
    origin: { source: 'scripted' },
  };
}

/** A test rule: every secret get is a high finding. Scan tests need a rule, not detection logic. */
export const everySecretGet = defineRule({
  id: 'test-every-secret-get',
  title: 'Secret read (test rule)',
  severity: 'high',
  mitre: ['T1552.007'],
  description: 'test',
  whyItMatters: 'test',
  falsePositives: [],
  runbook: ['test'],
  references: ['test'],
  clouds: { eks: 'full' },
  needs: { resources: ['secrets'], verbs: ['get'] },
  evaluate: (e) => ({ summary: `${e.user.name ?? '?'} read ${e.target.name ?? '?'}` }),
});
