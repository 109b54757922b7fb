import { createRequire } from 'node:module';
import path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';

/**
 * A Pub/Sub `Publisher.Publish` server on 127.0.0.1:0 speaking gRPC, the transport
 * `@google-cloud/pubsub` uses (in emulator mode: no TLS, no credentials), with the service
 * definition shipped in the package (https://cloud.google.com/pubsub/docs/reference/error-codes). It validates
 * what the service validates for our messages — topic exists, 1–1,000 messages, non-empty
 * messages, attribute count and sizes, reserved `goog` keys, the 10 MB message and request
 * limits, client-set ids — answers with gRPC status codes, fails on demand, and logs requests.
 * Every other Publisher method answers UNIMPLEMENTED.
 */

export interface PublishedPubSubMessage {
  topic: string;
  /** The message data as UTF-8 text. */
  data: string;
  attributes: Record<string, string>;
  orderingKey: string;
  messageId: string;
}

export interface PublishRequestRecord {
  topic: string;
  messageCount: number;
  metadataKeys: string[];
  /** gRPC status name of the answer (`OK` on success). */
  status: string;
}

export type PubSubFaultStatus = 'PERMISSION_DENIED' | 'UNAVAILABLE' | 'RESOURCE_EXHAUSTED' | 'INTERNAL' | 'UNAUTHENTICATED';

const MAX_BYTES = 10_000_000;
const require = createRequire(import.meta.url);

let cachedService: grpc.ServiceDefinition | undefined;
function publisherService(): grpc.ServiceDefinition {
  if (cachedService !== undefined) return cachedService;
  const includeDirs = [
    path.join(path.dirname(require.resolve('@google-cloud/pubsub')), '../protos'),
    path.join(path.dirname(require.resolve('google-gax')), '../protos'),
  ];
  const def = protoLoader.loadSync('google/pubsub/v1/pubsub.proto', { includeDirs, keepCase: false, longs: String, enums: String, defaults: false });
  const pkg = grpc.loadPackageDefinition(def) as unknown as { google: { pubsub: { v1: { Publisher: { service: grpc.ServiceDefinition } } } } };
  cachedService = pkg.google.pubsub.v1.Publisher.service;
  return cachedService;
}

interface WireMessage {
  data?: Buffer;
  attributes?: Record<string, string>;
  messageId?: string;
  publishTime?: unknown;
  orderingKey?: string;
}

class Refusal extends Error {
  constructor(
    readonly status: keyof typeof grpc.status,
    message: string,
  ) {
    super(message);
  }
}

const FAULT_MESSAGES: Record<PubSubFaultStatus, string> = {
  PERMISSION_DENIED: "User not authorized to perform this action. (permission 'pubsub.topics.publish' denied)",
  UNAVAILABLE: 'The service was unable to fulfill your request. Please try again.',
  RESOURCE_EXHAUSTED: 'Request throttled due to user QPS limit being reached.',
  INTERNAL: 'An internal error occurred.',
  UNAUTHENTICATED: 'Request had invalid authentication credentials.',
};

export class PubSubFake {
  readonly published: PublishedPubSubMessage[] = [];
  readonly requests: PublishRequestRecord[] = [];
  /** Full topic names (`projects/P/topics/T`) that exist. */
  readonly topics = new Set<string>();
  private readonly server = new grpc.Server({ 'grpc.max_receive_message_length': 3 * MAX_BYTES });
  private faults: PubSubFaultStatus[] = [];
  private holds: Array<{ arrive: () => void; gate: Promise<void> }> = [];
  private failing: PubSubFaultStatus | undefined;
  private nextId = 1;
  port = 0;

  static async start(): Promise<PubSubFake> {
    const fake = new PubSubFake();
    fake.server.addService(publisherService(), {
      Publish: (call: grpc.ServerUnaryCall<Record<string, unknown>, unknown>, cb: grpc.sendUnaryData<unknown>) => fake.publish(call, cb),
    });
    fake.port = await new Promise<number>((resolve, reject) =>
      fake.server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, port) => (err ? reject(err) : resolve(port))),
    );
    return fake;
  }

  /** `host:port` for the client's `apiEndpoint`. */
  get endpoint(): string {
    return `127.0.0.1:${this.port}`;
  }

  /** The next `times` publishes fail with `status`. */
  failNext(status: PubSubFaultStatus, times = 1): void {
    for (let i = 0; i < times; i++) this.faults.push(status);
  }

  /** Every publish fails with `status` until `failAlways(undefined)`. */
  failAlways(status: PubSubFaultStatus | undefined): void {
    this.failing = status;
  }

  /**
   * The next publish is held until `release()`: `arrived` resolves when it reaches the server,
   * so a test can act while a run is mid-publish (no sleeps).
   */
  holdNext(): { arrived: Promise<void>; release: () => void } {
    let arrive!: () => void;
    let release!: () => void;
    const arrived = new Promise<void>((r) => (arrive = r));
    const gate = new Promise<void>((r) => (release = r));
    this.holds.push({ arrive, gate });
    return { arrived, release };
  }

  reset(): void {
    this.holds = [];
    this.published.length = 0;
    this.requests.length = 0;
    this.faults = [];
    this.failing = undefined;
  }

  async stop(): Promise<void> {
    this.server.forceShutdown();
  }

  private publish(call: grpc.ServerUnaryCall<Record<string, unknown>, unknown>, cb: grpc.sendUnaryData<unknown>): void {
    const hold = this.holds.shift();
    if (hold === undefined) return this.answer(call, cb);
    hold.arrive();
    void hold.gate.then(() => this.answer(call, cb));
  }

  private answer(call: grpc.ServerUnaryCall<Record<string, unknown>, unknown>, cb: grpc.sendUnaryData<unknown>): void {
    const topic = typeof call.request['topic'] === 'string' ? call.request['topic'] : '';
    const messages = (Array.isArray(call.request['messages']) ? call.request['messages'] : []) as WireMessage[];
    const record: PublishRequestRecord = { topic, messageCount: messages.length, metadataKeys: Object.keys(call.metadata.getMap()), status: 'OK' };
    this.requests.push(record);
    try {
      const fault = this.faults.shift() ?? this.failing;
      if (fault !== undefined) throw new Refusal(fault, FAULT_MESSAGES[fault]);
      const m = /^projects\/([^/]+)\/topics\/([^/]+)$/.exec(topic);
      if (m === null) throw new Refusal('INVALID_ARGUMENT', `Invalid resource name given (name=${topic}). Refer to https://cloud.google.com/pubsub/docs/pubsub-basics#resource_names for more information.`);
      if (!this.topics.has(topic)) throw new Refusal('NOT_FOUND', `Resource not found (resource=${m[2]!}).`);
      if (messages.length === 0 || messages.length > 1000) throw new Refusal('INVALID_ARGUMENT', 'The value for message_count is out of range; it must be between 1 and 1000.');
      let requestBytes = 0;
      for (const msg of messages) requestBytes += validate(msg);
      if (requestBytes > MAX_BYTES) throw new Refusal('INVALID_ARGUMENT', `Request payload size exceeds the limit: ${MAX_BYTES} bytes.`);
      const ids = messages.map((msg) => {
        const messageId = String(this.nextId++);
        this.published.push({
          topic,
          data: (msg.data ?? Buffer.alloc(0)).toString('utf8'),
          attributes: { ...(msg.attributes ?? {}) },
          orderingKey: msg.orderingKey ?? '',
          messageId,
        });
        return messageId;
      });
      cb(null, { messageIds: ids });
    } catch (err) {
      const r = err instanceof Refusal ? err : new Refusal('INTERNAL', String(err));
      record.status = r.status;
      cb({ code: grpc.status[r.status], details: r.message });
    }
  }
}

/** One message's checks; returns its size (data + attribute keys and values). */
function validate(msg: WireMessage): number {
  const attrs = msg.attributes ?? {};
  const data = msg.data ?? Buffer.alloc(0);
  if (msg.messageId !== undefined && msg.messageId !== '') throw new Refusal('INVALID_ARGUMENT', 'message_id is set by the server and must be empty.');
  if (msg.publishTime !== undefined && msg.publishTime !== null) throw new Refusal('INVALID_ARGUMENT', 'publish_time is set by the server and must be empty.');
  const keys = Object.keys(attrs);
  if (data.length === 0 && keys.length === 0) throw new Refusal('INVALID_ARGUMENT', 'Some messages are empty: a message needs data or at least one attribute.');
  if (keys.length > 100) throw new Refusal('INVALID_ARGUMENT', 'Too many attributes: at most 100 per message.');
  let size = data.length;
  for (const key of keys) {
    const value = attrs[key]!;
    if (key === '' || Buffer.byteLength(key) > 256) throw new Refusal('INVALID_ARGUMENT', `Attribute key "${key.slice(0, 32)}" must be 1 to 256 bytes.`);
    if (/^goog/i.test(key)) throw new Refusal('INVALID_ARGUMENT', `Attribute key "${key}" uses the reserved prefix "goog".`);
    if (Buffer.byteLength(value) > 1024) throw new Refusal('INVALID_ARGUMENT', `Attribute value of "${key}" is longer than 1024 bytes.`);
    size += Buffer.byteLength(key) + Buffer.byteLength(value);
  }
  if (size > MAX_BYTES) throw new Refusal('INVALID_ARGUMENT', `Message size exceeds the limit: ${MAX_BYTES} bytes.`);
  return size;
}
