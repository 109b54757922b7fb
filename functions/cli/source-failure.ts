import { CredwatchError } from '../../core/model/errors.js';

/**
 * One line per failed live source: what went wrong and the command that fixes it. SDK errors
 * carry their cause several times over (the message repeats the cause, the credential chain
 * lists every provider it tried); a person needs the kind of failure and the next step.
 */

export type Cloud = 'eks' | 'aks' | 'gke';

/** Raised by the CLI's own checks (credentials, deadlines); its message is already the line to print. */
export class LiveSourceError extends CredwatchError {}

export const CREDENTIAL_HINT: Record<Cloud, string> = {
  eks: 'run `aws sso login` (or `aws configure`), or pass --profile NAME / set AWS_PROFILE',
  aks: 'run `az login`, or set AZURE_TENANT_ID, AZURE_CLIENT_ID and AZURE_CLIENT_SECRET for a service principal',
  gke: 'run `gcloud auth application-default login`, or set GOOGLE_APPLICATION_CREDENTIALS to a service-account key file',
};

const NETWORK_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN', 'EPIPE', 'ECONNABORTED', 'UND_ERR_CONNECT_TIMEOUT']);

interface ErrorLike {
  name?: unknown;
  code?: unknown;
  message?: unknown;
  cause?: unknown;
  errors?: unknown;
}

/** The error and its causes, outermost first (bounded: some SDKs build cyclic chains). */
function chain(err: unknown): ErrorLike[] {
  const out: ErrorLike[] = [];
  let e: unknown = err;
  while (e !== null && typeof e === 'object' && out.length < 8 && !out.includes(e)) {
    out.push(e);
    e = (e as ErrorLike).cause;
  }
  return out;
}

const text = (v: unknown): string => (typeof v === 'string' ? v : '');

function isCredentialError(e: ErrorLike): boolean {
  const name = text(e.name);
  const message = text(e.message);
  return (
    name === 'CredentialsProviderError' ||
    name === 'CredentialUnavailableError' ||
    name === 'AggregateAuthenticationError' ||
    name === 'AuthenticationRequiredError' ||
    /Could not load (the default )?credentials|Could not resolve credentials|ChainedTokenCredential authentication failed|The security token included in the request is (invalid|expired)|Token is expired|Unable to detect a Project Id/i.test(message)
  );
}

function networkCode(e: ErrorLike): string | undefined {
  const code = text(e.code);
  if (NETWORK_CODES.has(code)) return code;
  const m = /\b(ECONNREFUSED|ECONNRESET|ETIMEDOUT|EHOSTUNREACH|ENETUNREACH|ENOTFOUND|EAI_AGAIN)\b/.exec(text(e.message));
  if (m !== null) return m[1];
  if (/14 UNAVAILABLE|No connection established|4 DEADLINE_EXCEEDED|Total timeout of API .* exceeded|TimeoutError|socket hang up/i.test(`${text(e.name)} ${text(e.message)}`)) return 'unavailable';
  return undefined;
}

/** The first line of a message, without the ` (cause: …)` tail `describeError` adds. */
function firstLine(message: string): string {
  return (message.split('\n')[0] ?? '').replace(/\s*\(cause: .*$/, '').trim();
}

/** `eks:c1: eks:c1: …` → `…`: sources prefix their messages with their own name. */
function withoutPrefix(message: string, label: string, name: string | undefined): string {
  let m = message;
  for (const p of [label, name]) {
    if (p === undefined) continue;
    while (m.startsWith(`${p}: `)) m = m.slice(p.length + 2);
  }
  return m;
}

const MAX_LINE = 400;

/** The line printed after `FAILED <source>:`. */
export function describeSourceFailure(err: unknown, cloud: Cloud, label: string, name?: string): string {
  const errors = chain(err);
  const top = errors[0];
  if (err instanceof LiveSourceError) return err.message;
  if (errors.some(isCredentialError)) {
    return `no usable ${cloudName(cloud)} credentials: ${CREDENTIAL_HINT[cloud]}.`;
  }
  const net = errors.map(networkCode).find((c) => c !== undefined);
  if (net !== undefined) {
    const reason = net === 'unavailable' ? 'no answer' : net;
    return `cannot reach the ${apiName(cloud)} (${reason}): check the network, a proxy or the endpoint override (${ENDPOINT_VARIABLE[cloud]}); nothing of the window was read.`;
  }
  const message = firstLine(withoutPrefix(text(top?.message) || String(err), label, name));
  return message.length > MAX_LINE ? `${message.slice(0, MAX_LINE - 1)}…` : message;
}

export const ENDPOINT_VARIABLE: Record<Cloud, string> = {
  eks: 'CREDWATCH_EKS_ENDPOINT',
  aks: 'CREDWATCH_AKS_ENDPOINT',
  gke: 'CREDWATCH_GKE_ENDPOINT',
};

export function cloudName(cloud: Cloud): string {
  return cloud === 'eks' ? 'AWS' : cloud === 'aks' ? 'Azure' : 'Google Cloud';
}

export function apiName(cloud: Cloud): string {
  return cloud === 'eks' ? 'CloudWatch Logs API' : cloud === 'aks' ? 'Log Analytics API' : 'Cloud Logging API';
}
