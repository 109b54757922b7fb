import * as z from 'zod';
import { ConfigError } from '../../core/model/errors.js';
import { DEFAULT_SCAN_SETTINGS, type ScanSettings } from '../../core/scan/scan.js';
import { SEVERITIES } from '../../core/model/severity.js';

/**
 * Configuration of the scheduled functions, from environment variables. infra/ sets exactly these
 * names (its tests import ENV to check), and every error names the variable and what to set.
 */
export const ENV = Object.freeze({
  sources: 'CREDWATCH_SOURCES',
  lookbackMinutes: 'CREDWATCH_LOOKBACK_MINUTES',
  overlapMinutes: 'CREDWATCH_OVERLAP_MINUTES',
  maxCatchUpHours: 'CREDWATCH_MAX_CATCHUP_HOURS',
  alertMinSeverity: 'CREDWATCH_ALERT_MIN_SEVERITY',
  rules: 'CREDWATCH_RULES',
  config: 'CREDWATCH_CONFIG',
  // AWS
  stateTable: 'CREDWATCH_STATE_TABLE',
  topicArn: 'CREDWATCH_TOPIC_ARN',
  credentialsSecretArn: 'CREDWATCH_CREDENTIALS_SECRET_ARN',
  // GCP
  firestoreCollection: 'CREDWATCH_FIRESTORE_COLLECTION',
  firestoreDatabase: 'CREDWATCH_FIRESTORE_DATABASE',
  pubsubTopic: 'CREDWATCH_PUBSUB_TOPIC',
  gcpProject: 'GOOGLE_CLOUD_PROJECT',
  /** The function's own time limit: leases and alert claims last that long (the Lambda reads its own). */
  runTimeoutSeconds: 'CREDWATCH_RUN_TIMEOUT_SECONDS',
});

/**
 * A runtime sensor's output (docs/runtime-sensors.md) is a source of its own, with its own
 * checkpoint: `containers` are the sensor pods' container names (default tracee and falco), and
 * unless `correlate` is false it reads the same cluster's pods/exec requests to name the user
 * behind each read (so the audit log must be readable too).
 */
const runtimeFields = {
  containers: z.array(z.string().min(1)).min(1).optional(),
  correlate: z.boolean().optional(),
};
/** EKS alone may read a group without a container filter (`containers: []`): a log group of the sensor's own. */
const eksRuntimeFields = { ...runtimeFields, containers: z.array(z.string().min(1)).optional() };

/** A role in another account to assume for an EKS cluster's logs (an organisation's member accounts). */
const roleArn = z.string().regex(/^arn:aws[a-z-]*:iam::\d{12}:role\/.+$/, 'expected an IAM role ARN (arn:aws:iam::<account>:role/<name>)').optional();

export const SourceSpecSchema = z.discriminatedUnion('cloud', [
  z.strictObject({ cloud: z.literal('eks'), cluster: z.string().min(1), region: z.string().min(1).optional(), roleArn }),
  z.strictObject({ cloud: z.literal('aks'), workspaceId: z.string().min(1), cluster: z.string().min(1).optional() }),
  z.strictObject({ cloud: z.literal('gke'), projects: z.array(z.string().min(1)).min(1), cluster: z.string().min(1).optional() }),
  // `logGroup` defaults to Container Insights' /aws/containerinsights/<cluster>/application.
  z.strictObject({ cloud: z.literal('eks-runtime'), cluster: z.string().min(1), region: z.string().min(1).optional(), roleArn, logGroup: z.string().min(1).optional(), ...eksRuntimeFields }),
  z.strictObject({ cloud: z.literal('aks-runtime'), workspaceId: z.string().min(1), cluster: z.string().min(1).optional(), ...runtimeFields }),
  z.strictObject({ cloud: z.literal('gke-runtime'), projects: z.array(z.string().min(1)).min(1), cluster: z.string().min(1).optional(), ...runtimeFields }),
]);
export type SourceSpec = z.infer<typeof SourceSpecSchema>;

export interface CommonRuntimeConfig {
  sources: SourceSpec[];
  settings: Partial<ScanSettings>;
  rules?: string[];
  detection: unknown;
}

type Env = Record<string, string | undefined>;

export function required(env: Env, name: string, what: string): string {
  const v = env[name];
  if (v === undefined || v.trim() === '') throw new ConfigError('missing-env', `${name} is not set: set it to ${what}.`);
  return v.trim();
}

function json(env: Env, name: string, what: string): unknown {
  const text = env[name];
  if (text === undefined || text.trim() === '') return undefined;
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new ConfigError('invalid-env', `${name} is not valid JSON (${(err as Error).message}): set it to ${what}.`);
  }
}

function minutes(env: Env, name: string, min: number, max: number): number | undefined {
  const v = env[name];
  if (v === undefined || v.trim() === '') return undefined;
  const n = Number(v);
  if (!Number.isFinite(n) || n < min || n > max) throw new ConfigError('invalid-env', `${name}=${v}: expected a number from ${min} to ${max}.`);
  return n;
}

const SOURCES_HELP =
  'a JSON array such as [{"cloud":"eks","cluster":"prod-eks-1","region":"us-west-2"},{"cloud":"gke","projects":["acme-prod"]}] ' +
  '(runtime sensor output: {"cloud":"eks-runtime","cluster":"prod-eks-1"}, likewise aks-runtime and gke-runtime)';

/** The part every scheduled function shares: what to scan and how. */
export function readCommonConfig(env: Env): CommonRuntimeConfig {
  const raw = json(env, ENV.sources, SOURCES_HELP);
  if (raw === undefined) required(env, ENV.sources, SOURCES_HELP);
  const parsed = z.array(SourceSpecSchema).min(1).safeParse(raw);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ');
    throw new ConfigError('invalid-env', `${ENV.sources}: ${issues}. Expected ${SOURCES_HELP}.`);
  }
  const settings: Partial<ScanSettings> = {};
  const lookback = minutes(env, ENV.lookbackMinutes, 1, 24 * 60);
  if (lookback !== undefined) settings.firstRunLookbackMs = lookback * 60_000;
  const overlap = minutes(env, ENV.overlapMinutes, 0, 60);
  if (overlap !== undefined) settings.overlapMs = overlap * 60_000;
  const catchUp = minutes(env, ENV.maxCatchUpHours, 1, 14 * 24);
  if (catchUp !== undefined) settings.maxCatchUpMs = catchUp * 3_600_000;
  const severity = env[ENV.alertMinSeverity]?.trim();
  if (severity !== undefined && severity !== '') {
    if (!(SEVERITIES as readonly string[]).includes(severity)) {
      throw new ConfigError('invalid-env', `${ENV.alertMinSeverity}=${severity}: expected one of ${SEVERITIES.join(', ')}.`);
    }
    settings.alertMinSeverity = severity as ScanSettings['alertMinSeverity'];
  }
  const rules = env[ENV.rules]?.split(',').map((s) => s.trim()).filter((s) => s !== '');
  const config: CommonRuntimeConfig = {
    sources: parsed.data,
    settings: { ...settings },
    detection: json(env, ENV.config, 'the JSON of a credwatch config file (rules, identities)'),
  };
  if (rules !== undefined && rules.length > 0) config.rules = rules;
  return config;
}

export { DEFAULT_SCAN_SETTINGS };
