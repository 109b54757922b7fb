import { describe, expect, it } from 'vitest';
import { parseAnyRecord } from '../../adapters/file/detect.js';
import { asEks, asGke, k8sEvent } from '../../examples/audit-records.js';
import { SourceError } from '../../core/model/errors.js';
import type { LogSource, ReadOptions, ScanWindow, SourcePage } from '../../core/model/source.js';
import type { AksFlags, EksFlags, GkeFlags, SourceFactories } from '../../functions/cli/live-sources.js';
import { cli, TEST_RULES } from './cli-harness.js';

const NOW = new Date('2026-03-02T12:00:00.000Z');

function secretList(user: string, id: string): SourcePage['outcomes'] {
  const ev = k8sEvent({ verb: 'list', user, resource: 'secrets', time: '2026-03-02T11:30:00.000000Z', auditID: id });
  return parseAnyRecord(asEks(ev), { source: 'fake', page: 1 }, { cluster: 'eks-b' });
}

interface Call {
  kind: string;
  opts: EksFlags | AksFlags | GkeFlags;
  window?: ScanWindow;
  needs?: string[];
}

function fakeSource(name: string, calls: Call[], call: Call, pages: SourcePage[], failAfter?: string, notice?: string): LogSource {
  return {
    name,
    cloud: 'eks',
    async *read(window: ScanWindow, options: ReadOptions) {
      call.window = window;
      call.needs = [...options.needs.resources.keys()].sort();
      calls.push(call);
      for (const p of pages) yield p;
      if (failAfter !== undefined) throw new SourceError('throttled', failAfter);
    },
    notices: () => (notice === undefined ? [] : [{ code: 'data-access-off', message: notice }]),
  };
}

function factories(calls: Call[]): SourceFactories {
  return {
    eks: async (opts) =>
      opts.cluster === 'eks-a'
        ? fakeSource('eks:eks-a', calls, { kind: 'eks', opts }, [{ page: 1, outcomes: [] }], 'eks-a: FilterLogEvents throttled after page 1; window left for retry')
        : fakeSource(`eks:${opts.cluster}`, calls, { kind: 'eks', opts }, [{ page: 1, outcomes: secretList('system:node:n1', '0000000b-0000-4000-8000-00000000000b') }]),
    aks: async () => {
      throw new Error('Cannot find module adapters/aks/source.js');
    },
    gke: async (opts) =>
      fakeSource(
        `gke:${opts.projects.join(',')}`,
        calls,
        { kind: 'gke', opts },
        [
          { page: 1, outcomes: [] },
          {
            page: 2,
            outcomes: parseAnyRecord(
              asGke(k8sEvent({ verb: 'list', user: 'system:serviceaccount:x:y', resource: 'secrets', time: '2026-03-02T11:40:00.000000Z' }), { cluster: 'gke-c' }),
              { source: 'fake', page: 2 },
              {},
            ),
          },
        ],
        undefined,
        'no Data Access entries for gke-c: Secret reads are not logged; enable DATA_READ audit logs for k8s.io',
      ),
  };
}

describe('credwatch scan with live sources', () => {
  it('reads every source over the window, reports a failing one and still runs the others', async () => {
    const calls: Call[] = [];
    const r = await cli(
      ['scan', '--eks', 'eks-a', '--eks', 'eks-b', '--region', 'us-west-2', '--aks', 'ws-1', '--gke', 'p1,p2', '--gke-cluster', 'gke-c', '--since', '2h', '--format', 'jsonl'],
      { rules: TEST_RULES, sources: factories(calls), now: () => NOW },
      { CREDWATCH_EKS_ENDPOINT: 'http://127.0.0.1:1234', CREDWATCH_GKE_ENDPOINT: 'http://127.0.0.1:5678' },
    );
    expect(r.code).toBe(2);
    expect(calls.map((c) => [c.kind, c.opts, c.window?.from.toISOString(), c.window?.to.toISOString(), c.needs])).toEqual([
      ['eks', { cluster: 'eks-a', endpoint: 'http://127.0.0.1:1234', region: 'us-west-2' }, '2026-03-02T10:00:00.000Z', '2026-03-02T12:00:00.000Z', ['configmaps', 'secrets']],
      ['eks', { cluster: 'eks-b', endpoint: 'http://127.0.0.1:1234', region: 'us-west-2' }, '2026-03-02T10:00:00.000Z', '2026-03-02T12:00:00.000Z', ['configmaps', 'secrets']],
      ['gke', { projects: ['p1', 'p2'], endpoint: 'http://127.0.0.1:5678', cluster: 'gke-c' }, '2026-03-02T10:00:00.000Z', '2026-03-02T12:00:00.000Z', ['configmaps', 'secrets']],
    ]);
    const alerts = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as { cluster: string; event: { user: { name: string } } });
    expect(alerts.map((a) => [a.cluster, a.event.user.name])).toEqual([
      ['eks-b', 'system:node:n1'],
      ['gke-c', 'system:serviceaccount:x:y'],
    ]);
    const lines = r.stderr.split('\n');
    expect(lines).toContain('  notice (gke:p1,p2, data-access-off): no Data Access entries for gke-c: Secret reads are not logged; enable DATA_READ audit logs for k8s.io');
    expect(lines).toContain('  FAILED eks:eks-a: eks-a: FilterLogEvents throttled after page 1; window left for retry');
    expect(lines).toContain('  FAILED aks:ws-1: Cannot find module adapters/aks/source.js');
    expect(lines[0]).toMatch(/^credwatch: 2 records → 2 events, 0 skipped, 0 rejected in /);
  });

  it('takes --from/--to as the window and defaults --to to now', async () => {
    const calls: Call[] = [];
    const deps = { rules: TEST_RULES, sources: factories(calls), now: () => NOW };
    expect((await cli(['scan', '--eks', 'eks-b', '--from', '2026-03-02T09:00Z', '--to', '2026-03-02T10:00Z'], deps)).code).toBe(0);
    expect((await cli(['scan', '--eks', 'eks-b', '--from', '2026-03-02T11:15:00+01:00'], deps)).code).toBe(0);
    expect((await cli(['scan', '--eks', 'eks-b'], deps)).code).toBe(0);
    expect(calls.map((c) => [c.window?.from.toISOString(), c.window?.to.toISOString()])).toEqual([
      ['2026-03-02T09:00:00.000Z', '2026-03-02T10:00:00.000Z'],
      ['2026-03-02T10:15:00.000Z', '2026-03-02T12:00:00.000Z'],
      ['2026-03-02T11:00:00.000Z', '2026-03-02T12:00:00.000Z'],
    ]);
  });

  it('rejects invalid windows and orphan qualifiers with exit 2 and a message naming the flag', async () => {
    const calls: Call[] = [];
    const deps = { rules: TEST_RULES, sources: factories(calls), now: () => NOW };
    const cases: Array<[string[], string]> = [
      [['--eks', 'x', '--since', '2 hours'], 'credwatch: --since "2 hours" is not a duration: use e.g. 30m, 2h, 1h30m or 7d.\n'],
      [['--eks', 'x', '--since', '0m'], 'credwatch: --since 0m must be longer than zero.\n'],
      [['--eks', 'x', '--to', '2026-03-02T10:00Z'], 'credwatch: --to needs --from.\n'],
      [['--eks', 'x', '--from', 'yesterday'], 'credwatch: --from "yesterday" is not an ISO-8601 time: use e.g. 2026-03-02T09:00Z.\n'],
      [['--eks', 'x', '--from', '2026-03-02T10:00Z', '--to', '2026-03-02T09:00Z'], 'credwatch: --from 2026-03-02T10:00:00.000Z must be before --to 2026-03-02T09:00:00.000Z.\n'],
      [['--eks', 'x', '--since', '1h', '--from', '2026-03-02T10:00Z'], 'credwatch: Use either --since or --from/--to, not both.\n'],
      [['--region', 'us-east-1', '--gke', 'p'], 'credwatch: --region applies to --eks; add --eks CLUSTER.\n'],
      [['--aks-cluster', 'a', '--gke', 'p'], 'credwatch: --aks-cluster applies to --aks; add --aks WORKSPACE_ID.\n'],
      [['--gke-cluster', 'a', '--eks', 'e'], 'credwatch: --gke-cluster applies to --gke; add --gke PROJECT.\n'],
    ];
    for (const [flags, message] of cases) {
      const r = await cli(['scan', ...flags], deps);
      expect({ flags, code: r.code, stderr: r.stderr }).toEqual({ flags, code: 2, stderr: message });
    }
    expect(calls).toEqual([]);
  });
});
