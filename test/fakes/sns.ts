import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface PublishedMessage {
  topicArn: string;
  message: string;
  subject?: string;
  attributes: Record<string, { dataType: string; value: string }>;
  messageId: string;
}

export interface SnsFakeFaults {
  /** Answer the next N publishes with Throttled (HTTP 400, retried by the SDK). */
  throttle?: number;
  /** Answer every publish with this error until cleared. */
  error?: 'AuthorizationError' | 'InternalError';
}

/** SNS's limit: message plus every attribute's name, type and value, in bytes. */
const MAX_BYTES = 262_144;

/**
 * A wire-level SNS (awsQuery protocol: form-encoded POST, XML answers) on 127.0.0.1, for
 * Publish only: it validates what the real service validates for our messages (topic exists,
 * size limit counting attributes, subject length and characters, attribute types and non-empty
 * values) and answers in the service's XML error format.
 */
export class SnsFake {
  readonly published: PublishedMessage[] = [];
  readonly requests: Array<Record<string, string>> = [];
  readonly topics = new Set<string>();
  faults: SnsFakeFaults = {};
  private server: Server | undefined;
  private nextId = 1;

  async start(): Promise<string> {
    this.server = createServer((req, res) => this.handle(req, res));
    await new Promise<void>((r) => this.server!.listen(0, '127.0.0.1', r));
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  async stop(): Promise<void> {
    await new Promise<void>((r) => (this.server === undefined ? r() : this.server.close(() => r())));
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const form = Object.fromEntries(new URLSearchParams(Buffer.concat(chunks).toString('utf8')));
      this.requests.push(form);
      if (form['Action'] !== 'Publish') return this.error(res, 400, 'InvalidAction', `Unsupported action ${form['Action'] ?? ''}`);
      if ((this.faults.throttle ?? 0) > 0) {
        this.faults.throttle = (this.faults.throttle ?? 0) - 1;
        return this.error(res, 400, 'Throttling', 'Rate exceeded');
      }
      if (this.faults.error === 'AuthorizationError') return this.error(res, 403, 'AuthorizationError', 'User is not authorized to perform: SNS:Publish');
      if (this.faults.error === 'InternalError') return this.error(res, 500, 'InternalError', 'Internal error');
      const topicArn = form['TopicArn'] ?? '';
      if (!this.topics.has(topicArn)) return this.error(res, 404, 'NotFound', 'Topic does not exist');
      const message = form['Message'];
      if (message === undefined || message === '') return this.error(res, 400, 'InvalidParameter', 'Invalid parameter: Empty message');
      const attributes: PublishedMessage['attributes'] = {};
      let size = Buffer.byteLength(message, 'utf8');
      for (let i = 1; form[`MessageAttributes.entry.${i}.Name`] !== undefined; i++) {
        const name = form[`MessageAttributes.entry.${i}.Name`]!;
        const dataType = form[`MessageAttributes.entry.${i}.Value.DataType`] ?? '';
        const value = form[`MessageAttributes.entry.${i}.Value.StringValue`] ?? '';
        if (!['String', 'String.Array', 'Number', 'Binary'].includes(dataType)) {
          return this.error(res, 400, 'ParameterValueInvalid', `The message attribute '${name}' has an invalid message attribute type`);
        }
        if (value === '') return this.error(res, 400, 'ParameterValueInvalid', `The message attribute '${name}' must contain non-empty message attribute value`);
        size += Buffer.byteLength(name + dataType + value, 'utf8');
        attributes[name] = { dataType, value };
      }
      if (size > MAX_BYTES) return this.error(res, 400, 'InvalidParameter', 'Invalid parameter: Message too long');
      const subject = form['Subject'];
      if (subject !== undefined && (subject.length >= 100 || /[\u0000-\u001f]/.test(subject))) {
        return this.error(res, 400, 'InvalidParameter', 'Invalid parameter: Subject');
      }
      const messageId = `00000000-0000-4000-8000-${String(this.nextId++).padStart(12, '0')}`;
      this.published.push({ topicArn, message, ...(subject === undefined ? {} : { subject }), attributes, messageId });
      res.writeHead(200, { 'content-type': 'text/xml' });
      res.end(
        `<PublishResponse xmlns="http://sns.amazonaws.com/doc/2010-03-31/"><PublishResult><MessageId>${messageId}</MessageId></PublishResult><ResponseMetadata><RequestId>req-${messageId}</RequestId></ResponseMetadata></PublishResponse>`,
      );
    });
  }

  private error(res: ServerResponse, status: number, code: string, message: string): void {
    res.writeHead(status, { 'content-type': 'text/xml' });
    res.end(
      `<ErrorResponse xmlns="http://sns.amazonaws.com/doc/2010-03-31/"><Error><Type>Sender</Type><Code>${code}</Code><Message>${message}</Message></Error><RequestId>r-err</RequestId></ErrorResponse>`,
    );
  }
}
