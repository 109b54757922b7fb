import { randomUUID } from 'node:crypto';
import { Firestore } from '@google-cloud/firestore';
import type { HttpFunction, Request } from '@google-cloud/functions-framework';
import { PubSub } from '@google-cloud/pubsub';
import { ConfigError, describeError } from '../../core/model/errors.js';
import { PubSubSink, type PublishRetry } from '../../core/scan/sinks/pubsub.js';
import { FIRESTORE_DEFAULT_COLLECTION, FirestoreStateStore } from '../../core/scan/state/firestore-store.js';
import { ENV, readCommonConfig, required, type CommonRuntimeConfig } from '../shared/runtime-config.js';
import { scheduledRun, type SourceBuilder } from '../shared/scheduled-run.js';
import { logRun, stdoutLog, traceOf, type LogWriter } from './structured-log.js';

export interface GcpHandlerDeps {
  env: Record<string, string | undefined>;
  firestore: Firestore;
  pubsub: PubSub;
  buildSource?: SourceBuilder;
  clock?: () => Date;
  log: LogWriter;
  /** Bounds each publish (default 60 s); tests make it tiny. */
  publishRetry?: Partial<PublishRetry>;
}

export interface GcpRuntimeConfig extends CommonRuntimeConfig {
  project: string;
  topic: string;
  collection: string;
  database: string;
  /** How long a run may take (the function's timeout); leases and claims last that long. */
  runTimeoutMs?: number;
}

const DATABASE_ID = /^(\(default\)|[a-z][a-z0-9-]{2,61}[a-z0-9])$/;

/** Everything the Cloud Function needs from its environment; each error names the variable. */
export function readGcpConfig(env: Record<string, string | undefined>): GcpRuntimeConfig {
  const common = readCommonConfig(env);
  // Required rather than discovered: discovery would ask the metadata server, and a wrong guess writes state elsewhere.
  const project = required(env, ENV.gcpProject, 'the ID of the project that holds the Firestore database and the Pub/Sub topic');
  const topic = required(env, ENV.pubsubTopic, 'the Pub/Sub topic that receives alerts (its ID, or projects/PROJECT/topics/ID)');
  const collection = env[ENV.firestoreCollection]?.trim() || FIRESTORE_DEFAULT_COLLECTION;
  if (collection.includes('/') || /^__.*__$/.test(collection) || Buffer.byteLength(collection) > 1500 || collection === '.' || collection === '..') {
    throw new ConfigError('invalid-env', `${ENV.firestoreCollection}=${collection}: a Firestore collection ID cannot contain "/", be "." or "..", or look like __name__; the default is ${FIRESTORE_DEFAULT_COLLECTION}.`);
  }
  const database = env[ENV.firestoreDatabase]?.trim() || '(default)';
  if (!DATABASE_ID.test(database)) {
    throw new ConfigError('invalid-env', `${ENV.firestoreDatabase}=${database}: expected (default) or a database ID of 4 to 63 lowercase letters, digits and hyphens that starts with a letter.`);
  }
  const timeout = env[ENV.runTimeoutSeconds]?.trim();
  let runTimeoutMs: number | undefined;
  if (timeout !== undefined && timeout !== '') {
    const seconds = Number(timeout);
    if (!Number.isInteger(seconds) || seconds < 60 || seconds > 3600) {
      throw new ConfigError('invalid-env', `${ENV.runTimeoutSeconds}=${timeout}: expected the function's timeout in whole seconds, 60 to 3600 (infra/gcp sets it from function_timeout_seconds).`);
    }
    runTimeoutMs = seconds * 1000;
  }
  return { ...common, project, topic, collection, database, ...(runTimeoutMs === undefined ? {} : { runTimeoutMs }) };
}

/** The Cloud Scheduler headers worth keeping in the run's log line. */
function schedulerOf(req: Request): Record<string, string> | undefined {
  const job = req.get('x-cloudscheduler-jobname');
  const at = req.get('x-cloudscheduler-scheduletime');
  if (job === undefined && at === undefined) return undefined;
  return { ...(job === undefined ? {} : { jobName: job }), ...(at === undefined ? {} : { scheduleTime: at }) };
}

/**
 * The HTTP Cloud Function Cloud Scheduler calls (with an OIDC token, checked by Cloud Run before
 * the request gets here). It answers 200 with the run summary when every source was scanned, and
 * 500 with the same summary when any source failed or its alerts were not delivered, so Cloud
 * Scheduler logs the attempt as failed and monitoring sees it (the next run resumes from the
 * checkpoint); 500 with the error when the configuration is invalid.
 * Clients are built once per instance; tests inject them.
 */
export function createGcpHandler(overrides: Partial<GcpHandlerDeps> = {}): HttpFunction {
  const env = overrides.env ?? process.env;
  const log = overrides.log ?? stdoutLog;
  let clients: Pick<GcpHandlerDeps, 'firestore' | 'pubsub'> | undefined;

  return async function credwatchScan(req, res) {
    let config: GcpRuntimeConfig;
    try {
      config = readGcpConfig(env);
    } catch (err) {
      return refuse(err, undefined);
    }
    const trace = traceOf(req.headers, config.project);
    clients ??= {
      // REST: the transport the tests exercise, and a faster cold start than gRPC.
      firestore: overrides.firestore ?? new Firestore({ projectId: config.project, databaseId: config.database, preferRest: true }),
      pubsub: overrides.pubsub ?? new PubSub({ projectId: config.project }),
    };
    const runId = randomUUID();
    try {
      const summary = await scheduledRun({
        config,
        store: new FirestoreStateStore(clients.firestore, config.collection, config.project),
        sink: new PubSubSink(clients.pubsub, config.topic, overrides.publishRetry),
        ...(overrides.buildSource === undefined ? {} : { buildSource: overrides.buildSource }),
        ...(overrides.clock === undefined ? {} : { clock: overrides.clock }),
        ...(config.runTimeoutMs === undefined ? {} : { runTimeoutMs: config.runTimeoutMs }),
        runId,
      });
      const scheduler = schedulerOf(req);
      logRun(summary, log, { ...(trace === undefined ? {} : { trace }), ...(scheduler === undefined ? {} : { scheduler }) });
      res.status(summary.ok ? 200 : 500).json(summary);
    } catch (err) {
      refuse(err, trace);
    }

    function refuse(err: unknown, traceId: string | undefined): void {
      const misconfigured = err instanceof ConfigError;
      log({
        severity: 'ERROR',
        message: misconfigured ? `credwatch is misconfigured: ${describeError(err)}` : `scan run failed: ${describeError(err)}`,
        ...(misconfigured ? { code: err.code } : {}),
        ...(traceId === undefined ? {} : { 'logging.googleapis.com/trace': traceId }),
      });
      res.status(500).json({ error: describeError(err), ...(misconfigured ? { code: err.code } : {}) });
    }
  };
}
