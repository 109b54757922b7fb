import { PublishCommand, type MessageAttributeValue, type SNSClient } from '@aws-sdk/client-sns';
import { alertAttributes } from './alert-attributes.js';
import { SinkError } from '../../model/errors.js';
import type { Alert } from '../../model/finding.js';
import { fitAlert } from './fit-alert.js';
import type { AlertSink } from './sink.js';

/** SNS counts the message and every attribute's name, type and value against 256 KiB. */
const SNS_MAX_BYTES = 262_144;
/** Headroom for the three attributes and their types. */
const ATTRIBUTE_ALLOWANCE = 2_048;

/** Subject for e-mail subscriptions: under 100 characters, no control characters. */
export function emailSubject(alert: Alert): string {
  const s = `credwatch ${alert.severity.toUpperCase()}: ${alert.title} (${alert.cluster ?? alert.cloud})`.replace(/[\u0000-\u001f\u007f]/g, ' ');
  return s.length > 99 ? `${s.slice(0, 98)}…` : s;
}

/** Publishes each alert's JSON as the message body, `rule`/`severity`/`cluster` as attributes. */
export class SnsSink implements AlertSink {
  readonly name: string;

  constructor(
    private readonly client: SNSClient,
    private readonly topicArn: string,
  ) {
    this.name = `sns:${topicArn}`;
  }

  async send(alert: Alert): Promise<void> {
    const { alert: body } = fitAlert(alert, SNS_MAX_BYTES - ATTRIBUTE_ALLOWANCE);
    const attrs: Record<string, MessageAttributeValue> = {};
    for (const [k, v] of Object.entries(alertAttributes(alert))) attrs[k] = { DataType: 'String', StringValue: v };
    try {
      const out = await this.client.send(
        new PublishCommand({ TopicArn: this.topicArn, Message: JSON.stringify(body), Subject: emailSubject(alert), MessageAttributes: attrs }),
      );
      if (out.MessageId === undefined) throw new Error('SNS accepted the request but returned no MessageId');
    } catch (err) {
      const name = (err as { name?: string }).name ?? 'Error';
      const hint =
        name === 'AuthorizationErrorException'
          ? ` Grant sns:Publish on ${this.topicArn} to the function's role.`
          : name === 'NotFoundException'
            ? ` The topic ${this.topicArn} does not exist: check CREDWATCH_TOPIC_ARN.`
            : ' The alert is retried by the next run.';
      throw new SinkError('sns-publish-failed', `Publishing alert ${alert.id} to ${this.topicArn} failed (${name}).${hint}`, { cause: err });
    }
  }
}

export { alertAttributes };
