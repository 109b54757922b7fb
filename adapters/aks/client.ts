import { readFileSync } from 'node:fs';
import { DefaultAzureCredential, type TokenCredential } from '@azure/identity';
import { LogsQueryClient, LogsQueryResultStatus, type LogsTable } from '@azure/monitor-query-logs';
import { ConfigError, SourceError } from '../../core/model/errors.js';

/**
 * The Log Analytics side of the AKS source: building the `LogsQueryClient` (credential,
 * endpoint, TLS trust) from options and environment, running one query, and turning the SDK's
 * outcomes into rows, an overflow signal, or a SourceError that says what to do.
 */

/** The subset of core-rest-pipeline's TlsSettings the source passes on. */
export interface AksTlsOptions {
  ca?: string | Buffer | Array<string | Buffer>;
}

export interface AksClientOptions {
  endpoint?: string;
  credential?: TokenCredential;
  tlsOptions?: AksTlsOptions;
  retryOptions?: { maxRetries?: number; retryDelayInMs?: number; maxRetryDelayInMs?: number };
  /** Token scopes; sovereign clouds need their own (e.g. `https://api.loganalytics.azure.cn/.default`). */
  scopes?: string[];
  env?: Readonly<Record<string, string | undefined>>;
}

/** The environment the CLI and the functions configure the source with. */
export const AKS_ENV = Object.freeze({
  endpoint: 'CREDWATCH_AKS_ENDPOINT',
  caFile: 'CREDWATCH_AKS_CA_FILE',
  token: 'CREDWATCH_AKS_TOKEN',
});

/** A pre-acquired bearer token (CREDWATCH_AKS_TOKEN): for tests and for tokens minted elsewhere. */
export function staticTokenCredential(token: string): TokenCredential {
  return { getToken: async () => ({ token, expiresOnTimestamp: Date.now() + 3_600_000 }) };
}

/**
 * The SDK uses a given endpoint verbatim as the base URL, `/v1` included; an
 * origin without a path gets the `/v1` the service expects instead of failing with a 404 later.
 */
export function normaliseEndpoint(endpoint: string): string {
  let url: URL;
  try {
    url = new URL(endpoint);
  } catch {
    throw new ConfigError('aks-endpoint', `AKS endpoint "${endpoint}" is not a URL; use e.g. https://api.loganalytics.io/v1`);
  }
  if (url.protocol !== 'https:') {
    throw new ConfigError('aks-endpoint', `AKS endpoint "${endpoint}" must be https: the client sends a bearer token only over TLS`);
  }
  return url.pathname === '/' ? `${url.origin}/v1` : endpoint.replace(/\/+$/, '');
}

export function createLogsClient(opts: AksClientOptions): LogsQueryClient {
  const env = opts.env ?? process.env;
  const token = env[AKS_ENV.token];
  // DefaultAzureCredential covers a service principal (AZURE_CLIENT_ID/SECRET/TENANT_ID),
  // workload and managed identity, and `az login`, in that order.
  const credential = opts.credential ?? (token !== undefined && token !== '' ? staticTokenCredential(token) : new DefaultAzureCredential());
  let tlsOptions = opts.tlsOptions;
  const caFile = env[AKS_ENV.caFile];
  if (tlsOptions === undefined && caFile !== undefined && caFile !== '') {
    try {
      tlsOptions = { ca: readFileSync(caFile, 'utf8') };
    } catch (e) {
      throw new ConfigError('aks-ca-file', `${AKS_ENV.caFile}=${caFile} cannot be read`, { cause: e });
    }
  }
  const endpoint = opts.endpoint ?? env[AKS_ENV.endpoint];
  const client = new LogsQueryClient(credential, {
    ...(endpoint !== undefined && endpoint !== '' ? { endpoint: normaliseEndpoint(endpoint) } : {}),
    ...(tlsOptions !== undefined ? { tlsOptions } : {}),
    ...(opts.retryOptions !== undefined ? { retryOptions: opts.retryOptions } : {}),
    ...(opts.scopes !== undefined ? { credentials: { scopes: opts.scopes } } : {}),
  });
  client.pipeline.addPolicy(noContentAsEmptyResult);
  return client;
}

type PipelinePolicy = Parameters<LogsQueryClient['pipeline']['addPolicy']>[0];

/**
 * The service answers 204 when the workspace holds no data (https://learn.microsoft.com/azure/azure-monitor/logs/api/overview); SDK 1.0.0 then
 * fails with a TypeError while reading the missing error body. A 204 means "no rows", so it is
 * turned into the empty result it stands for before the SDK deserializes it.
 */
export const noContentAsEmptyResult: PipelinePolicy = {
  name: 'credwatchNoContentAsEmptyResult',
  async sendRequest(request, next) {
    const response = await next(request);
    if (response.status !== 204) return response;
    response.headers.set('content-type', 'application/json');
    return { ...response, status: 200, bodyAsText: '{"tables":[]}' };
  },
};

export type QueryOutcome =
  | { kind: 'rows'; rows: Array<Record<string, unknown>> }
  /** The service cut the result (row/byte cap): the window must be split. */
  | { kind: 'partial'; rows: number; message: string };

/** Column-major SDK table → one object per row; Dates back to ISO text like the other shapes. */
export function rowObjects(table: LogsTable | undefined): Array<Record<string, unknown>> {
  if (table === undefined) return [];
  const names = table.columnDescriptors.map((c, i) => c.name ?? `Column${i}`);
  return table.rows.map((row) => {
    const obj: Record<string, unknown> = {};
    names.forEach((name, i) => {
      const v = row[i];
      obj[name] = v instanceof Date ? v.toISOString() : v;
    });
    return obj;
  });
}

interface RestLike {
  statusCode?: number;
  code?: string;
  message?: string;
}

function explain(status: number | undefined, code: string | undefined): { code: string; hint: string; retryable: boolean } {
  if (status === 401 || status === 403) {
    return {
      code: 'aks-auth',
      hint: 'the identity needs the Log Analytics Reader role on the workspace (a new assignment can take up to an hour to apply)',
      retryable: false,
    };
  }
  if (status === 404) return { code: 'aks-workspace', hint: 'check the workspace ID (the workspace GUID, not its name or resource ID)', retryable: false };
  if (status === 400) return { code: 'aks-bad-query', hint: 'the service rejected the query', retryable: false };
  if (status === 429) return { code: 'aks-throttled', hint: 'the query API throttled the scan; the next run retries the window', retryable: true };
  return { code: 'aks-unavailable', hint: `the query API failed${code === undefined ? '' : ` (${code})`}; the next run retries the window`, retryable: true };
}

/**
 * Runs one query. 204 (a workspace with no data) is an empty result; a PartialError inside a 200
 * is reported as `partial` so the caller splits the window, never taken as the whole answer.
 */
export async function runQuery(
  client: LogsQueryClient,
  workspaceId: string,
  query: string,
  timespan: { startTime: Date; endTime: Date },
  context: string,
  requestOptions: { timeout: number; abortSignal?: AbortSignal },
  serverTimeoutInSeconds: number,
): Promise<QueryOutcome> {
  try {
    const result = await client.queryWorkspace(workspaceId, query, timespan, { serverTimeoutInSeconds, requestOptions });
    if (result.status === LogsQueryResultStatus.Success) return { kind: 'rows', rows: rowObjects(result.tables[0]) };
    const rows = result.partialTables[0]?.rows.length ?? 0;
    const err = result.partialError as { message?: string; details?: Array<{ message?: string }> } | undefined;
    const detail = err?.details?.map((d) => d.message).filter((m) => m !== undefined).join('; ');
    return { kind: 'partial', rows, message: detail !== undefined && detail !== '' ? detail : (err?.message ?? 'PartialError') };
  } catch (e) {
    const rest = e as RestLike;
    const x = explain(rest.statusCode, rest.code);
    const status = rest.statusCode === undefined ? '' : ` HTTP ${rest.statusCode}`;
    throw new SourceError(x.code, `${context}:${status} ${rest.message ?? String(e)}; ${x.hint}`, { cause: e, retryable: x.retryable });
  }
}
