import type { CloudWatchLogsClient } from '@aws-sdk/client-cloudwatch-logs';
import type { AccessToken, TokenCredential } from '@azure/identity';
import type { Logging } from '@google-cloud/logging';
import { CREDENTIAL_HINT, LiveSourceError, cloudName, type Cloud } from './source-failure.js';

/**
 * Before a live source reads anything, the CLI resolves its credentials once, with a deadline:
 * a missing login then fails in about a second with one line naming the command that fixes it,
 * instead of surfacing later as an SDK stack trace, an unhandled rejection in the Google client's
 * stub set-up, or a credential-chain dump per request. The resolved credentials are the ones the
 * source then uses (the same client objects), so nothing is resolved twice.
 */

/** Credential chains that probe instance metadata give up in a few seconds; this bounds them all. */
export const CREDENTIAL_TIMEOUT_MS = 15_000;

/** Resolves with `work`, or rejects with a LiveSourceError once `ms` have passed; never keeps the process alive. */
export async function withDeadline<T>(work: Promise<T>, ms: number, onTimeout: () => string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new LiveSourceError('live-timeout', onTimeout())), ms);
    timer.unref();
  });
  try {
    return await Promise.race([work, deadline]);
  } finally {
    clearTimeout(timer);
  }
}

function credentialFailure(cloud: Cloud, what: string, err: unknown): LiveSourceError {
  const message = err instanceof Error ? err.message : String(err);
  // First sentence only: the chains go on with links and every provider they tried.
  const detail = (message.split('\n')[0] ?? '').replace(/\.\s.*$/, '').replace(/\.$/, '');
  // The chains' own text lists every provider tried; its first line is enough to tell them apart.
  const short = detail.length > 160 ? `${detail.slice(0, 159)}…` : detail;
  return new LiveSourceError(`${cloud}-credentials`, `no ${cloudName(cloud)} credentials for ${what} (${short}): ${CREDENTIAL_HINT[cloud]}.`, { cause: err });
}

const timedOut = (cloud: Cloud, what: string) => (): string =>
  `resolving ${cloudName(cloud)} credentials for ${what} took over ${CREDENTIAL_TIMEOUT_MS / 1000} s (a metadata server or login helper that does not answer): ${CREDENTIAL_HINT[cloud]}.`;

/** The AWS SDK credential chain of this client (env, SSO, profile, process, IMDS) resolved once. */
export async function checkAwsCredentials(client: CloudWatchLogsClient, what: string): Promise<void> {
  try {
    const identity = await withDeadline(client.config.credentials(), CREDENTIAL_TIMEOUT_MS, timedOut('eks', what));
    if (identity.accessKeyId === undefined || identity.accessKeyId === '') throw new Error('the chain returned no access key');
  } catch (err) {
    if (err instanceof LiveSourceError) throw err;
    throw credentialFailure('eks', what, err);
  }
}

/** The token scope LogsQueryClient asks for unless told otherwise. */
export const LOG_ANALYTICS_SCOPE = 'https://api.loganalytics.io/.default';

/**
 * A credential that hands out the token resolved by the check until shortly before it expires,
 * then asks the underlying chain again: the Azure CLI credential starts `az` on every call.
 */
export function primedCredential(inner: TokenCredential, first: AccessToken): TokenCredential {
  let cached: AccessToken | undefined = first;
  return {
    async getToken(scopes, options) {
      if (cached !== undefined && cached.expiresOnTimestamp - Date.now() > 5 * 60_000) return cached;
      cached = (await inner.getToken(scopes, options)) ?? undefined;
      if (cached === undefined) throw new Error('the credential chain returned no token');
      return cached;
    },
  };
}

/** Gets one Log Analytics token through `credential`; returns a credential primed with it. */
export async function checkAzureCredentials(credential: TokenCredential, what: string): Promise<TokenCredential> {
  const abort = new AbortController();
  try {
    const token = await withDeadline(
      credential.getToken(LOG_ANALYTICS_SCOPE, { abortSignal: abort.signal }),
      CREDENTIAL_TIMEOUT_MS,
      timedOut('aks', what),
    );
    if (token === null) throw new Error('the credential chain returned no token');
    return primedCredential(credential, token);
  } catch (err) {
    abort.abort();
    if (err instanceof LiveSourceError) throw err;
    throw credentialFailure('aks', what, err);
  }
}

/** Application Default Credentials of this Logging client, resolved (and a token fetched) once. */
export async function checkGoogleCredentials(logging: Logging, what: string): Promise<void> {
  try {
    await withDeadline(
      (async () => {
        const client = await logging.auth.getClient();
        await client.getAccessToken();
      })(),
      CREDENTIAL_TIMEOUT_MS,
      timedOut('gke', what),
    );
  } catch (err) {
    if (err instanceof LiveSourceError) throw err;
    throw credentialFailure('gke', what, err);
  }
}
