import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import * as z from 'zod';
import { resolveDetectionConfig } from '../../core/engine/detection-config.js';
import { describeError } from '../../core/model/errors.js';
import { selectRules } from '../../core/engine/rule-selection.js';
import { SEVERITIES, type Severity } from '../../core/model/severity.js';
import type { SourceSpec } from '../../functions/shared/runtime-config.js';
import { RULES } from '../../rules/index.js';
import { parseSchedule, ScheduleError } from './schedule.js';

/** One EKS cluster to scan; `region` defaults to the stack's own Region. */
export interface EksClusterRef {
  name: string;
  region?: string;
  /** Also scan its runtime sensor output in Container Insights' application log group (`eksRuntimeClusters`). */
  runtime?: boolean;
  /** A role in the cluster's account that the scanner assumes to read its logs (cross-account). */
  roleArn?: string;
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
  /** Minutes between runs, derived from the schedule (or `schedulePeriodMinutes` for an irregular cron); the alarms are sized by it. */
  schedulePeriodMinutes: number;
  lookbackMinutes: number;
  alertEmail?: string;
  /** An existing topic to publish to instead of the stack's own. */
  topicArn?: string;
  /** The KMS key of that existing topic, when it is encrypted with a customer managed key. */
  topicKmsKeyArn?: string;
  alertMinSeverity?: Severity;
  rules?: string[];
  /** The detection config file's JSON (`configFile`), validated against the selected rules. */
  detectionConfig?: string;
  /** Reserved concurrency for the scanner; unset by default (the state lease keeps runs apart). */
  reservedConcurrency?: number;
  /** Ship a source map and load it at start (readable stack traces, slower cold start). */
  sourceMaps?: boolean;
}

/** Every context key the app reads; any other key is a typo and stops the synth. */
export const CONTEXT_KEYS = Object.freeze([
  'eksClusters', 'eksRuntimeClusters', 'aksWorkspaces', 'gkeProjects', 'credentialsSecretArn',
  'schedule', 'schedulePeriodMinutes', 'lookbackMinutes', 'alertEmail', 'topicArn', 'topicKmsKeyArn',
  'alertMinSeverity', 'rules', 'configFile', 'reservedConcurrency', 'sourceMaps', 'stackName',
]);

/**
 * Keys the CDK toolkit and library put in the context themselves: feature flags (`@aws-cdk/…`),
 * `aws:cdk:…` settings, lookups cached in cdk.context.json (`<kind>:account=…`), and the CLI's own.
 */
export function isToolkitContextKey(key: string): boolean {
  return key.startsWith('@') || key.includes(':') || key === 'acknowledged-issue-numbers' || key === 'cli-telemetry';
}

/** The Lambda environment may hold 4 KB in all; the table name, topic ARN and the rest need some of it. */
export const ENV_BUDGET_BYTES = 3_300;

function distance(a: string, b: string): number {
  const d = Array.from({ length: a.length + 1 }, (_, i) => [i, ...Array<number>(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j++) d[0]![j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      d[i]![j] = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + (a[i - 1]!.toLowerCase() === b[j - 1]!.toLowerCase() ? 0 : 1));
    }
  }
  return d[a.length]![b.length]!;
}

/** Refuses context keys the app does not read, naming each and the key probably meant. */
export function checkContextKeys(keys: readonly string[]): void {
  const unknown = keys.filter((k) => !isToolkitContextKey(k) && !CONTEXT_KEYS.includes(k));
  if (unknown.length === 0) return;
  const hint = (k: string) => {
    const best = [...CONTEXT_KEYS].sort((a, b) => distance(k, a) - distance(k, b))[0]!;
    return distance(k, best) <= 3 ? ` (did you mean ${best}?)` : '';
  };
  throw new StackConfigError(`unknown context key${unknown.length > 1 ? 's' : ''} ${unknown.map((k) => `${k}${hint(k)}`).join(', ')}: the keys are ${CONTEXT_KEYS.join(', ')}`);
}

// A 5-minute cadence with a 6-minute first lookback: the overlap is absorbed by the dedup store.
export const DEFAULT_SCHEDULE = 'rate(5 minutes)';
export const DEFAULT_LOOKBACK_MINUTES = 6;

// Same limits the EKS adapter enforces; failing here stops a typo before it reaches an account.
const EKS_CLUSTER = /^[0-9A-Za-z][A-Za-z0-9_-]{0,99}$/;
const AWS_REGION = /^[a-z]{2}(-[a-z]+)+-\d+$/;
const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const GCP_PROJECT = /^[a-z][a-z0-9-]{4,28}[a-z0-9]$/;
const ROLE_ARN = /^arn:aws[a-z-]*:iam::\d{12}:role\/[\w+=,.@/-]{1,512}$/;
/** Runs closer than this overlap the 4-minute function timeout. */
export const MIN_SCHEDULE_MINUTES = 5;
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

/** The JSON form, for what a string cannot say (a role to assume in the cluster's account). */
const EksObject = z.strictObject({
  name: z.string(),
  region: z.string().optional(),
  roleArn: z.string().optional(),
});

function eksEntries(get: Lookup): EksClusterRef[] {
  let raw = get('eksClusters');
  if (typeof raw === 'string' && raw.trim().startsWith('[')) {
    try {
      raw = JSON.parse(raw);
    } catch (err) {
      throw new StackConfigError(`eksClusters: not valid JSON (${describeError(err)}); use <cluster>[@<region>],… or [{"name":"…","region":"…","roleArn":"…"}]`);
    }
  }
  if (!Array.isArray(raw) || raw.every((x) => typeof x === 'string')) return list(() => raw, 'eksClusters').map(eks);
  return raw.map((item, i) => {
    if (typeof item === 'string') return eks(item.trim());
    const parsed = EksObject.safeParse(item);
    check(parsed.success, `eksClusters[${i}]: ${parsed.success ? '' : parsed.error.issues.map((x) => `${x.path.join('.') || '(entry)'}: ${x.message}`).join('; ')} (fields: name, region, roleArn)`);
    const { name, region, roleArn } = parsed.data!;
    const ref = eks(region === undefined ? name : `${name}@${region}`);
    if (roleArn !== undefined) {
      check(ROLE_ARN.test(roleArn), `eksClusters[${i}].roleArn: "${roleArn}" is not an IAM role ARN (arn:aws:iam::<account>:role/<name>)`);
      ref.roleArn = roleArn;
    }
    return ref;
  });
}

function positiveInt(get: Lookup, key: string, min: number, max: number): number | undefined {
  const t = text(get, key);
  if (t === undefined) return undefined;
  const n = Number(t);
  check(Number.isInteger(n) && n >= min && n <= max, `${key}: "${t}" is not a whole number from ${min} to ${max}`);
  return n;
}

/** Reads and validates the detection config file against the rules that will run; returns its compact JSON. */
function detectionConfigFile(path: string, ruleIds: string[] | undefined): string {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(resolve(path), 'utf8'));
  } catch (err) {
    throw new StackConfigError(`configFile: cannot read ${path} as JSON (${describeError(err)})`);
  }
  const rules = selectRules(RULES, ruleIds, 'rules');
  try {
    const resolved = resolveDetectionConfig(raw, rules, `configFile ${path}`);
    for (const rule of rules) {
      const options = resolved.ruleOptions[rule.id];
      if (options === undefined || rule.options === undefined) continue;
      const parsed = rule.options.safeParse(options);
      if (!parsed.success) {
        throw new StackConfigError(`configFile ${path}: rules.${rule.id}: ${parsed.error.issues.map((x) => `${x.path.join('.') || '(options)'}: ${x.message}`).join('; ')}`);
      }
    }
  } catch (err) {
    if (err instanceof StackConfigError) throw err;
    throw new StackConfigError(describeError(err));
  }
  return JSON.stringify(raw);
}

/** The Region of an ARN, or undefined for a token or a malformed one. */
function arnRegion(arn: string): string | undefined {
  return arn.split(':')[3];
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
export function readStackConfig(get: Lookup, deployment: { region?: string | undefined; contextKeys?: readonly string[] } = {}): CredwatchConfig {
  if (deployment.contextKeys !== undefined) checkContextKeys(deployment.contextKeys);
  const eksClusters = eksEntries(get);
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
  const periodHint = positiveInt(get, 'schedulePeriodMinutes', MIN_SCHEDULE_MINUTES, 720);
  let schedulePeriodMinutes: number | undefined;
  try {
    schedulePeriodMinutes = parseSchedule(schedule, periodHint).periodMinutes;
  } catch (err) {
    if (!(err instanceof ScheduleError)) throw err;
    throw new StackConfigError(`schedule: "${schedule}" is not a valid EventBridge Scheduler expression: ${err.message}`);
  }
  check(schedulePeriodMinutes !== undefined, `schedule: "${schedule}" does not run at an even period; set -c schedulePeriodMinutes=<minutes between runs> so the alarms can be sized`);
  check(schedulePeriodMinutes! >= MIN_SCHEDULE_MINUTES, `schedule: "${schedule}" runs every ${schedulePeriodMinutes} minute(s); at least ${MIN_SCHEDULE_MINUTES} minutes apart, or runs overlap the 4-minute function timeout`);
  const lookbackText = text(get, 'lookbackMinutes');
  const lookbackMinutes = lookbackText === undefined ? DEFAULT_LOOKBACK_MINUTES : Number(lookbackText);
  check(Number.isInteger(lookbackMinutes) && lookbackMinutes >= 1 && lookbackMinutes <= 1440, `lookbackMinutes: "${lookbackText}" is not a whole number of minutes from 1 to 1440`);

  const config: CredwatchConfig = { eksClusters, aksWorkspaces, gkeProjects, schedule, schedulePeriodMinutes: schedulePeriodMinutes!, lookbackMinutes };
  const alertEmail = text(get, 'alertEmail');
  const topicArn = text(get, 'topicArn');
  check(alertEmail !== undefined || topicArn !== undefined, 'no alert destination: set -c alertEmail=<address> and/or -c topicArn=<existing SNS topic ARN>');
  if (alertEmail !== undefined) {
    check(EMAIL.test(alertEmail), `alertEmail: "${alertEmail}" is not an e-mail address`);
    config.alertEmail = alertEmail;
  }
  if (topicArn !== undefined) {
    check(ARN('sns').test(topicArn), `topicArn: "${topicArn}" is not an SNS topic ARN`);
    // The scanner publishes with its own Region's endpoint, and alarm actions must be in the alarm's Region.
    const region = deployment.region;
    check(region === undefined || region.startsWith('${') || arnRegion(topicArn) === region, `topicArn: "${topicArn}" is in ${arnRegion(topicArn)}, the stack deploys to ${region}; use a topic in ${region}`);
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
  if (rules.length > 0) {
    try {
      selectRules(RULES, rules, 'rules');
    } catch (err) {
      throw new StackConfigError(describeError(err));
    }
    config.rules = rules;
  }
  const configFile = text(get, 'configFile');
  if (configFile !== undefined) config.detectionConfig = detectionConfigFile(configFile, config.rules);
  const maps = text(get, 'sourceMaps');
  if (maps !== undefined) {
    check(maps === 'true' || maps === 'false', `sourceMaps: "${maps}" is not true or false`);
    if (maps === 'true') config.sourceMaps = true;
  }
  const reserved = positiveInt(get, 'reservedConcurrency', 1, 1000);
  if (reserved !== undefined) config.reservedConcurrency = reserved;
  const envBytes = Buffer.byteLength(JSON.stringify(sourceSpecs(config))) + Buffer.byteLength(config.detectionConfig ?? '') + (config.rules?.join(',').length ?? 0);
  check(envBytes <= ENV_BUDGET_BYTES, `configFile: the sources and config take ${envBytes} bytes of the Lambda's 4 KB environment (budget ${ENV_BUDGET_BYTES}); shorten the config file (drop defaults) or split the clusters over two stacks`);
  return config;
}

/** The handler's CREDWATCH_SOURCES value: one source per EKS cluster and AKS workspace, one for all GKE projects, one per EKS runtime cluster. */
export function sourceSpecs(config: CredwatchConfig): SourceSpec[] {
  return [
    ...config.eksClusters.map((c): SourceSpec => ({ cloud: 'eks', cluster: c.name, ...(c.region === undefined ? {} : { region: c.region }), ...(c.roleArn === undefined ? {} : { roleArn: c.roleArn }) })),
    ...config.aksWorkspaces.map((w): SourceSpec => (w.cluster === undefined ? { cloud: 'aks', workspaceId: w.workspaceId } : { cloud: 'aks', workspaceId: w.workspaceId, cluster: w.cluster })),
    ...(config.gkeProjects.length > 0 ? [{ cloud: 'gke', projects: config.gkeProjects } satisfies SourceSpec] : []),
    ...config.eksClusters
      .filter((c) => c.runtime === true)
      .map((c): SourceSpec => ({ cloud: 'eks-runtime', cluster: c.name, ...(c.region === undefined ? {} : { region: c.region }), ...(c.roleArn === undefined ? {} : { roleArn: c.roleArn }) })),
  ];
}
