import type { CallOptions, PubSub, Topic } from '@google-cloud/pubsub';
import { SinkError } from '../../model/errors.js';
import type { Alert } from '../../model/finding.js';
import { fitAlert } from './fit-alert.js';
import type { AlertSink } from './sink.js';
import { alertAttributes } from './alert-attributes.js';

/**
 * Pub/Sub takes 10 MB per message, but push endpoints and event triggers downstream take less:
 * alerts are kept under 1 MiB (trimming evidence, never the verdict), far below every limit.
 */
export const PUBSUB_MAX_ALERT_BYTES = 1_048_576;

/** How long one publish may retry before the alert is left to the next run. */
export interface PublishRetry {
  /** The client's default is 600 s, far past a 5-minute schedule: a stuck publish must fail in time. */
  totalTimeoutMillis: number;
  initialRetryDelayMillis: number;
  maxRetryDelayMillis: number;
}

export const DEFAULT_PUBLISH_RETRY: PublishRetry = Object.freeze({
  totalTimeoutMillis: 60_000,
  initialRetryDelayMillis: 100,
  maxRetryDelayMillis: 10_000,
});

/** The codes the Publish service config retries (https://cloud.google.com/pubsub/docs/reference/error-codes): ABORTED, CANCELLED, DEADLINE_EXCEEDED, INTERNAL, RESOURCE_EXHAUSTED, UNKNOWN, UNAVAILABLE. */
const RETRY_CODES = [10, 1, 4, 13, 8, 2, 14];

const CODE = { DEADLINE_EXCEEDED: 4, NOT_FOUND: 5, PERMISSION_DENIED: 7, UNAUTHENTICATED: 16, INVALID_ARGUMENT: 3 } as const;

/** Per-topic call options bounding every publish, retries included, by `totalTimeoutMillis`. */
export function publishCallOptions(retry: PublishRetry): CallOptions {
  const attempt = Math.min(retry.totalTimeoutMillis, 20_000);
  return {
    retry: {
      retryCodes: RETRY_CODES,
      backoffSettings: {
        initialRetryDelayMillis: retry.initialRetryDelayMillis,
        retryDelayMultiplier: 4,
        maxRetryDelayMillis: retry.maxRetryDelayMillis,
        initialRpcTimeoutMillis: attempt,
        rpcTimeoutMultiplier: 1,
        maxRpcTimeoutMillis: attempt,
        totalTimeoutMillis: retry.totalTimeoutMillis,
      },
    },
  };
}

/** The message attributes: the filterable three of every sink, plus the id idempotent consumers dedupe on. */
export function pubsubAttributes(alert: Alert): Record<string, string> {
  return { ...alertAttributes(alert), alertId: alert.id };
}

const codeOf = (err: unknown): number | undefined => {
  const c = (err as { code?: unknown } | null)?.code;
  return typeof c === 'number' ? c : undefined;
};

/**
 * Publishes each alert's JSON as the message data with `rule`/`severity`/`cluster`/`alertId`
 * attributes. One message per publish (no batching delay), bounded retries, and a SinkError
 * that says what to fix when the topic is missing or publishing is not allowed.
 */
export class PubSubSink implements AlertSink {
  readonly name: string;
  private readonly topic: Topic;
  private readonly retry: PublishRetry;

  constructor(pubsub: PubSub, topic: string, retry: Partial<PublishRetry> = {}) {
    this.retry = { ...DEFAULT_PUBLISH_RETRY, ...retry };
    this.topic = pubsub.topic(topic, {
      batching: { maxMessages: 1, maxMilliseconds: 0 },
      gaxOpts: publishCallOptions(this.retry),
    });
    this.name = `pubsub:${this.topic.name}`;
  }

  async send(alert: Alert): Promise<void> {
    const { alert: body } = fitAlert(alert, PUBSUB_MAX_ALERT_BYTES);
    try {
      await this.topic.publishMessage({ data: Buffer.from(JSON.stringify(body), 'utf8'), attributes: pubsubAttributes(alert) });
    } catch (err) {
      const code = codeOf(err);
      const topic = this.topic.name;
      const hint =
        code === CODE.NOT_FOUND
          ? ` The topic ${topic} does not exist: create it, or set CREDWATCH_PUBSUB_TOPIC to an existing topic.`
          : code === CODE.PERMISSION_DENIED
            ? ` Grant roles/pubsub.publisher on ${topic} to the function's service account.`
            : code === CODE.UNAUTHENTICATED
              ? ' No valid Google credentials: run the function as a service account, or set GOOGLE_APPLICATION_CREDENTIALS locally.'
              : code === CODE.DEADLINE_EXCEEDED
                ? ` Gave up after ${this.retry.totalTimeoutMillis / 1000} s of retries; the alert is retried by the next run.`
                : ' The alert is retried by the next run.';
      const detail = err instanceof Error ? err.message : String(err);
      throw new SinkError('pubsub-publish-failed', `Publishing alert ${alert.id} to ${topic} failed (${detail}).${hint}`, { cause: err });
    }
  }
}
