import { readFileSync } from 'node:fs';
import { DefaultAzureCredential, type TokenCredential } from '@azure/identity';
import { LogsQueryClient } from '@azure/monitor-query-logs';
import { ConfigError } from '../../core/model/errors.js';

/**
 * Building the `LogsQueryClient` of the AKS sources (credential, endpoint, TLS trust) from
 * options and environment; running queries is adapters/aks/pull.ts.
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

/** The Log Analytics query client of every AKS source (audit and runtime). */
export function createClient(opts: AksClientOptions): LogsQueryClient {
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
