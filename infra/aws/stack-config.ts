import type { SourceSpec } from '../../functions/shared/runtime-config.js';
import { SEVERITIES, type Severity } from '../../core/severity.js';

/** One EKS cluster to scan; `region` defaults to the stack's own Region. */
export interface EksClusterRef {
  name: string;
  region?: string;
  /** Also scan its runtime sensor output in Container Insights' application log group (`eksRuntimeClusters`). */
  runtime?: boolean;
}

export interface AksWorkspaceRef {
  workspaceId: string;
  cluster?: string;
}

/** What to deploy: every field has a context key of the same name (`-c eksClusters=…`). */
export interface CredwatchConfig {
  eksClusters: EksClusterRef[];
  aksWorkspaces: AksWorkspaceRef[];
  gkeProjects: string[];
  /** Full ARN of an existing secret with the Azure/GCP credentials; else the stack creates one. */
  credentialsSecretArn?: string;
  /** An EventBridge Scheduler `rate(…)` or `cron(…)` expression. */
  schedule: string;
  lookbackMinutes: number;
  alertEmail?: string;
  /** An existing topic to publish to instead of the stack's own. */
  topicArn?: string;
  /** The KMS key of that existing topic, when it is encrypted with a customer managed key. */
  topicKmsKeyArn?: string;
  alertMinSeverity?: Severity;
  rules?: string[];
}

// A 5-minute cadence with a 6-minute first lookback: the overlap is absorbed by the dedup store.
export const DEFAULT_SCHEDULE = 'rate(5 minutes)';
export const DEFAULT_LOOKBACK_MINUTES = 6;

// Same limits the EKS adapter enforces; failing here stops a typo before it reaches an account.
const EKS_CLUSTER = /^[0-9A-Za-z][A-Za-z0-9_-]{0,99}$/;
const AWS_REGION = /^[a-z]{2}(-[a-z]+)+-\d+$/;
const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const GCP_PROJECT = /^[a-z][a-z0-9-]{4,28}[a-z0-9]$/;
const SCHEDULE = /^(rate|cron)\(.+\)$/;
const EMAIL = /^[^@\s]+@[^@\s]+\.[^@\s]+$/;
const ARN = (service: string) => new RegExp(`^arn:aws[a-z-]*:${service}:[a-z0-9-]+:\\d{12}:.+$`);

export class StackConfigError extends Error {
  override readonly name = 'StackConfigError';
}

type Lookup = (key: string) => unknown;

function text(get: Lookup, key: string): string | undefined {
  const v = get(key);
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string' && typeof v !== 'number') throw new StackConfigError(`${key} must be a string, got ${JSON.stringify(v)}`);
  const s = String(v).trim();
  return s === '' ? undefined : s;
}

function list(get: Lookup, key: string): string[] {
  const v = get(key);
  if (Array.isArray(v)) return v.map((x) => String(x).trim()).filter((x) => x !== '');
  return (text(get, key) ?? '').split(',').map((x) => x.trim()).filter((x) => x !== '');
}

function check(ok: boolean, message: string): void {
  if (!ok) throw new StackConfigError(message);
}

function eks(entry: string): EksClusterRef {
  const [name = '', region, ...rest] = entry.split('@');
  check(rest.length === 0 && EKS_CLUSTER.test(name), `eksClusters: "${entry}" is not <cluster> or <cluster>@<region> (cluster: 1-100 letters, digits, - and _)`);
  if (region === undefined) return { name };
  check(AWS_REGION.test(region), `eksClusters: "${entry}": "${region}" is not an AWS Region such as us-west-2`);
  return { name, region };
}

function aks(entry: string): AksWorkspaceRef {
  const [workspaceId = '', cluster, ...rest] = entry.split('/');
  check(rest.length === 0 && GUID.test(workspaceId), `aksWorkspaces: "${entry}" is not <workspace-id> or <workspace-id>/<cluster> (the workspace ID is a GUID)`);
  check(cluster === undefined || cluster !== '', `aksWorkspaces: "${entry}" has an empty cluster name`);
  return cluster === undefined ? { workspaceId } : { workspaceId, cluster };
}

/**
 * Reads the deployment from CDK context (or any key lookup) and rejects what cannot work,
 * naming the key: a stack that deploys but never scans is worse than a synth error.
 */
export function readStackConfig(get: Lookup): CredwatchConfig {
  const eksClusters = list(get, 'eksClusters').map(eks);
  for (const name of list(get, 'eksRuntimeClusters')) {
    const ref = eksClusters.find((c) => c.name === name);
    check(ref !== undefined, `eksRuntimeClusters: "${name}" is not one of eksClusters (its audit log names the user behind each runtime read)`);
    ref!.runtime = true;
  }
  const aksWorkspaces = list(get, 'aksWorkspaces').map(aks);
  const gkeProjects = list(get, 'gkeProjects');
  for (const p of gkeProjects) check(GCP_PROJECT.test(p), `gkeProjects: "${p}" is not a Google Cloud project ID`);
  check(eksClusters.length + aksWorkspaces.length + gkeProjects.length > 0, 'nothing to scan: set -c eksClusters=<cluster>[@<region>],… (and/or aksWorkspaces, gkeProjects)');

  const schedule = text(get, 'schedule') ?? DEFAULT_SCHEDULE;
  check(SCHEDULE.test(schedule), `schedule: "${schedule}" is not an EventBridge Scheduler rate(…) or cron(…) expression`);
  const lookbackText = text(get, 'lookbackMinutes');
  const lookbackMinutes = lookbackText === undefined ? DEFAULT_LOOKBACK_MINUTES : Number(lookbackText);
  check(Number.isInteger(lookbackMinutes) && lookbackMinutes >= 1 && lookbackMinutes <= 1440, `lookbackMinutes: "${lookbackText}" is not a whole number of minutes from 1 to 1440`);

  const config: CredwatchConfig = { eksClusters, aksWorkspaces, gkeProjects, schedule, lookbackMinutes };
  const alertEmail = text(get, 'alertEmail');
  const topicArn = text(get, 'topicArn');
  check(alertEmail !== undefined || topicArn !== undefined, 'no alert destination: set -c alertEmail=<address> and/or -c topicArn=<existing SNS topic ARN>');
  if (alertEmail !== undefined) {
    check(EMAIL.test(alertEmail), `alertEmail: "${alertEmail}" is not an e-mail address`);
    config.alertEmail = alertEmail;
  }
  if (topicArn !== undefined) {
    check(ARN('sns').test(topicArn), `topicArn: "${topicArn}" is not an SNS topic ARN`);
    config.topicArn = topicArn;
  }
  const topicKmsKeyArn = text(get, 'topicKmsKeyArn');
  if (topicKmsKeyArn !== undefined) {
    check(topicArn !== undefined, 'topicKmsKeyArn is only used with topicArn (the stack\'s own topic has its own key)');
    check(ARN('kms').test(topicKmsKeyArn), `topicKmsKeyArn: "${topicKmsKeyArn}" is not a KMS key ARN`);
    config.topicKmsKeyArn = topicKmsKeyArn;
  }
  const secret = text(get, 'credentialsSecretArn');
  if (secret !== undefined) {
    check(aksWorkspaces.length + gkeProjects.length > 0, 'credentialsSecretArn is only used with aksWorkspaces or gkeProjects');
    // IAM matches the full ARN, including the 6-character suffix Secrets Manager appends.
    check(ARN('secretsmanager').test(secret) && /:secret:.+-[A-Za-z0-9]{6}$/.test(secret), `credentialsSecretArn: "${secret}" is not the full ARN of a secret (…:secret:<name>-<6 characters>)`);
    config.credentialsSecretArn = secret;
  }
  const severity = text(get, 'alertMinSeverity');
  if (severity !== undefined) {
    check((SEVERITIES as readonly string[]).includes(severity), `alertMinSeverity: "${severity}" is not one of ${SEVERITIES.join(', ')}`);
    config.alertMinSeverity = severity as Severity;
  }
  const rules = list(get, 'rules');
  if (rules.length > 0) config.rules = rules;
  return config;
}

/** The handler's CREDWATCH_SOURCES value: one source per EKS cluster and AKS workspace, one for all GKE projects, one per EKS runtime cluster. */
export function sourceSpecs(config: CredwatchConfig): SourceSpec[] {
  return [
    ...config.eksClusters.map((c): SourceSpec => (c.region === undefined ? { cloud: 'eks', cluster: c.name } : { cloud: 'eks', cluster: c.name, region: c.region })),
    ...config.aksWorkspaces.map((w): SourceSpec => (w.cluster === undefined ? { cloud: 'aks', workspaceId: w.workspaceId } : { cloud: 'aks', workspaceId: w.workspaceId, cluster: w.cluster })),
    ...(config.gkeProjects.length > 0 ? [{ cloud: 'gke', projects: config.gkeProjects } satisfies SourceSpec] : []),
    ...config.eksClusters
      .filter((c) => c.runtime === true)
      .map((c): SourceSpec => (c.region === undefined ? { cloud: 'eks-runtime', cluster: c.name } : { cloud: 'eks-runtime', cluster: c.name, region: c.region })),
  ];
}
