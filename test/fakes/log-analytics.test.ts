import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LogsQueryClient, LogsQueryResultStatus } from '@azure/monitor-query-logs';
import { FakeLogAnalytics } from './log-analytics.js';
import { auditEvent, rowFor } from '../adapters/aks/aks-rows.js';

const T0 = '2026-03-02T09:00:00.000Z';
const at = (min: number): Date => new Date(Date.parse(T0) + min * 60_000);
const span = { startTime: at(-60), endTime: at(60) };

describe('log analytics fake', () => {
  let fake: FakeLogAnalytics;
  let client: LogsQueryClient;

  beforeEach(async () => {
    fake = await FakeLogAnalytics.start();
    client = new LogsQueryClient(fake.credential, {
      endpoint: fake.endpoint,
      tlsOptions: { ca: fake.ca },
      retryOptions: { maxRetries: 2, retryDelayInMs: 1, maxRetryDelayInMs: 2 },
    });
    fake.addRows(
      'AKSAudit',
      [
        rowFor('AKSAudit', auditEvent({ auditID: 'a-1', time: at(0).toISOString() })),
        rowFor('AKSAudit', auditEvent({ auditID: 'a-2', time: at(1).toISOString(), verb: 'list', resource: 'configmaps', name: undefined })),
        rowFor('AKSAudit', auditEvent({ auditID: 'a-3', time: at(-90).toISOString() })),
      ],
      at(2),
    );
  });
  afterEach(async () => {
    await fake.close();
  });

  it('answers the real SDK over TLS with its documented table shape, dynamic cells parsed by the client', async () => {
    const r = await client.queryWorkspace(fake.workspaceId, 'AKSAudit | where Verb == "get" | project AuditId, ObjectRef, TimeGenerated', span);
    expect(r.status).toBe(LogsQueryResultStatus.Success);
    if (r.status !== LogsQueryResultStatus.Success) return;
    expect(r.tables[0]!.columnDescriptors).toEqual([
      { name: 'AuditId', type: 'string' },
      { name: 'ObjectRef', type: 'dynamic' },
      { name: 'TimeGenerated', type: 'datetime' },
    ]);
    expect(r.tables[0]!.rows).toEqual([['a-1', { resource: 'secrets', namespace: 'prod', name: 'db', apiVersion: 'v1' }, at(0)]]);
    expect(fake.requests).toHaveLength(1);
    expect(fake.requests[0]).toMatchObject({
      path: `/v1/workspaces/${fake.workspaceId}/query`,
      authorization: `Bearer ${fake.token}`,
      timespan: `${span.startTime.toISOString()}/${span.endTime.toISOString()}`,
      status: 200,
      rows: 1,
    });
  });

  it('applies the timespan to TimeGenerated and ingestion_time() to the stored ingestion time', async () => {
    const all = await client.queryWorkspace(fake.workspaceId, 'AKSAudit | project AuditId', { startTime: at(-120), endTime: at(60) });
    const inSpan = await client.queryWorkspace(fake.workspaceId, 'AKSAudit | project AuditId', span);
    const ingested = await client.queryWorkspace(
      fake.workspaceId,
      `AKSAudit | where ingestion_time() >= datetime(${at(2).toISOString()}) and ingestion_time() < datetime(${at(3).toISOString()}) | project AuditId, At = ingestion_time()`,
      span,
    );
    const rows = (r: typeof all) => (r.status === LogsQueryResultStatus.Success ? r.tables[0]!.rows : undefined);
    expect(rows(all)).toEqual([['a-1'], ['a-2'], ['a-3']]);
    expect(rows(inSpan)).toEqual([['a-1'], ['a-2']]);
    expect(rows(ingested)).toEqual([
      ['a-1', at(2)],
      ['a-2', at(2)],
    ]);
  });

  it('evaluates has as a whole-term match, endswith case-insensitively, fuzzy unions and count by', async () => {
    fake.addRows('AzureDiagnostics', [rowFor('AzureDiagnostics', auditEvent({ auditID: 'd-1', time: at(0).toISOString() }), 'aks-prod-1', 'kube-audit-admin')], at(2));
    const q = async (kql: string) => {
      const r = await client.queryWorkspace(fake.workspaceId, kql, span);
      return r.status === LogsQueryResultStatus.Success ? r.tables[0]!.rows : r.partialTables[0]!.rows;
    };
    expect(await q('AzureDiagnostics | where log_s has "secrets" | project Category')).toEqual([['kube-audit-admin']]);
    expect(await q('AzureDiagnostics | where log_s has "secret" | project Category')).toEqual([]);
    expect(await q('AKSAudit | where _ResourceId endswith "/MANAGEDCLUSTERS/AKS-PROD-1" | summarize n = count() by Verb')).toEqual([
      ['get', 1],
      ['list', 1],
    ]);
    expect(
      await q('union isfuzzy=true AKSAudit, AKSAuditAdmin, AzureDiagnostics | summarize Rows = count() by Type, Category = column_ifexists("Category", "")'),
    ).toEqual([
      ['AKSAudit', null, 2],
      ['AzureDiagnostics', 'kube-audit-admin', 1],
    ]);
  });

  it('rejects syntax and names outside the subset with a 400 BadArgumentError', async () => {
    const fail = async (kql: string) => client.queryWorkspace(fake.workspaceId, kql, span).then(() => undefined, (e: { statusCode?: number; code?: string; message?: string }) => [e.statusCode, e.code]);
    expect(await fail('AKSAudit | where Verb == "get" | order by TimeGenerated')).toEqual([400, 'BadArgumentError']);
    expect(await fail('AKSAudit | where Verbb == "get"')).toEqual([400, 'BadArgumentError']);
    expect(await fail('AKSAudit | where Verb.resource == "get"')).toEqual([400, 'BadArgumentError']);
    expect(await fail('AKSAuditt | take 1')).toEqual([400, 'BadArgumentError']);
    expect(fake.requests.map((r) => r.status)).toEqual([400, 400, 400, 400]);
  });

  it('cuts results at the row and byte caps with a PartialError inside a 200', async () => {
    fake.maxRows = 1;
    const r = await client.queryWorkspace(fake.workspaceId, 'AKSAudit | project AuditId', span);
    expect(r.status).toBe(LogsQueryResultStatus.PartialFailure);
    if (r.status !== LogsQueryResultStatus.PartialFailure) return;
    expect(r.partialTables[0]!.rows).toEqual([['a-1']]);
    expect(r.partialError.code).toBe('PartialError');
    fake.maxRows = 500_000;
    fake.maxBytes = 10;
    const b = await client.queryWorkspace(fake.workspaceId, 'AKSAudit | project AuditId', span);
    expect(b.status).toBe(LogsQueryResultStatus.PartialFailure);
    expect(fake.requests.map((x) => [x.status, x.rows, x.partial])).toEqual([
      [200, 1, 'Query result set has exceeded the internal record count limit 1 records (E_QUERY_RESULT_SET_TOO_LARGE)'],
      [200, 1, 'Query result set has exceeded the internal data size limit 10 bytes (E_QUERY_RESULT_SET_TOO_LARGE)'],
    ]);
  });

  it('throttles with 429 and Retry-After, which the SDK retries', async () => {
    fake.throttle(2, '0');
    const r = await client.queryWorkspace(fake.workspaceId, 'AKSAudit | take 1', span);
    expect(r.status).toBe(LogsQueryResultStatus.Success);
    expect(fake.requests.map((x) => x.status)).toEqual([429, 429, 200]);
  });

  it('answers 204 (which the raw SDK rejects) for a workspace without data and 403 for a wrong token', async () => {
    const empty = await FakeLogAnalytics.start();
    try {
      const c = new LogsQueryClient(empty.credential, { endpoint: empty.endpoint, tlsOptions: { ca: empty.ca }, retryOptions: { maxRetries: 0 } });
      // SDK 1.0.0 cannot deserialize a 204 (no body) and rejects; the adapter maps it to "no rows".
      const outcome = await c.queryWorkspace(empty.workspaceId, 'AKSAudit', span).then(() => 'resolved', () => 'rejected');
      expect(outcome).toBe('rejected');
      expect(empty.requests.map((r) => r.status)).toEqual([204]);
      const wrong = new LogsQueryClient({ getToken: async () => ({ token: 'nope', expiresOnTimestamp: Date.now() + 60_000 }) }, { endpoint: empty.endpoint, tlsOptions: { ca: empty.ca }, retryOptions: { maxRetries: 0 } });
      const denied = await wrong.queryWorkspace(empty.workspaceId, 'AKSAudit', span).then(() => undefined, (e: { statusCode?: number; code?: string }) => [e.statusCode, e.code]);
      expect(denied).toEqual([403, 'InvalidAuthenticationToken']);
    } finally {
      await empty.close();
    }
  });
});
