import {
  ConditionalCheckFailedException,
  DeleteItemCommand,
  GetItemCommand,
  PutItemCommand,
  type AttributeValue,
  type DynamoDBClient,
} from '@aws-sdk/client-dynamodb';
import { StateError } from '../../model/errors.js';
import { invalidLease, stateRequest, validCheckpointTime, type Checkpoint, type CheckpointExpectation, type ClaimResult, type StateStore } from './store.js';

/** The table's key and TTL attribute; infra/aws creates the table with exactly these. */
export const DYNAMO_KEY = 'pk';
export const DYNAMO_TTL_ATTRIBUTE = 'expiresAt';

/** Sent-alert and lease items expire through TTL; correctness never depends on it (see store.ts). */
const seconds = (ms: number) => Math.ceil(ms / 1000);
const S = (v: string): AttributeValue => ({ S: v });
const N = (v: number): AttributeValue => ({ N: String(v) });

// `owner` and `state` are DynamoDB reserved words: always go through attribute names.
const NAMES = { '#pk': DYNAMO_KEY, '#owner': 'owner', '#state': 'state', '#until': 'until', '#seq': 'seq' };

/**
 * State in one DynamoDB table (on-demand, TTL on `expiresAt`). Leases and alert claims are
 * conditional PutItems, so two concurrent runs can never both own one source or one alert.
 */
export class DynamoDbStateStore implements StateStore {
  readonly kind = 'dynamodb';

  constructor(
    private readonly client: DynamoDBClient,
    readonly table: string,
  ) {}

  async readCheckpoint(source: string): Promise<Checkpoint | undefined> {
    const item = await this.get(`checkpoint#${source}`);
    if (item === undefined) return undefined;
    const raw = item['to']?.S ?? item['to']?.N ?? item['to'];
    const to = validCheckpointTime(raw, `DynamoDB table ${this.table}, item ${DYNAMO_KEY}=checkpoint#${source}, attribute to`);
    const cp: Checkpoint = { to, updatedAt: item['updatedAt']?.S ?? to };
    if (item['runId']?.S !== undefined) cp.runId = item['runId'].S;
    const seq = Number(item['seq']?.N);
    if (Number.isSafeInteger(seq)) cp.seq = seq;
    if (item['correlation']?.B !== undefined) cp.correlation = item['correlation'].B;
    return cp;
  }

  async writeCheckpoint(source: string, checkpoint: Checkpoint, expected?: CheckpointExpectation): Promise<boolean> {
    const item: Record<string, AttributeValue> = { [DYNAMO_KEY]: S(`checkpoint#${source}`), to: S(checkpoint.to), updatedAt: S(checkpoint.updatedAt) };
    if (checkpoint.runId !== undefined) item['runId'] = S(checkpoint.runId);
    if (checkpoint.seq !== undefined) item['seq'] = N(checkpoint.seq);
    // One item holds checkpoint and correlation state, so one conditional put commits both.
    if (checkpoint.correlation !== undefined) item['correlation'] = { B: checkpoint.correlation };
    if (expected === undefined) {
      await this.call('write the checkpoint', () => this.client.send(new PutItemCommand({ TableName: this.table, Item: item })));
      return true;
    }
    return expected.seq === undefined
      ? this.conditionalPut(item, 'attribute_not_exists(#pk) OR attribute_not_exists(#seq)', {}, 'write the checkpoint')
      : this.conditionalPut(item, '#seq = :seq', { ':seq': N(expected.seq) }, 'write the checkpoint');
  }

  async acquireLease(source: string, owner: string, now: Date, ttlMs: number, onInvalid?: (why: string) => void): Promise<boolean> {
    const until = now.getTime() + ttlMs;
    const item = {
      [DYNAMO_KEY]: S(`lease#${source}`),
      owner: S(owner),
      until: N(until),
      [DYNAMO_TTL_ATTRIBUTE]: N(seconds(until) + 3600),
    };
    if (await this.conditionalPut(item, 'attribute_not_exists(#pk) OR #owner = :owner OR #until < :now', { ':owner': S(owner), ':now': N(now.getTime()) }, 'take the lease')) {
      return true;
    }
    // Held: honoured only if its expiry is a sane time (a bad clock or hand edit would lock the source forever).
    const held = await this.get(`lease#${source}`);
    if (held === undefined) return false;
    const heldUntil = held['until']?.N === undefined ? held['until'] : Number(held['until'].N);
    const invalid = invalidLease(heldUntil, now);
    if (invalid === undefined) return false;
    const heldOwner = held['owner']?.S ?? '(no owner)';
    // Taken over only if nobody changed it since we read it.
    const took = await this.conditionalPut(item, '#owner = :held', { ':held': S(heldOwner) }, 'take over the lease');
    if (took) onInvalid?.(`the lease on ${source} (DynamoDB table ${this.table}, item ${DYNAMO_KEY}=lease#${source}) held by ${heldOwner} was taken over: ${invalid}`);
    return took;
  }

  async releaseLease(source: string, owner: string): Promise<void> {
    await this.conditionalDelete(`lease#${source}`, '#owner = :owner', { ':owner': S(owner) });
  }

  async claimAlert(key: string, owner: string, now: Date, claimTtlMs: number): Promise<ClaimResult> {
    const until = now.getTime() + claimTtlMs;
    const claimed = await this.conditionalPut(
      {
        [DYNAMO_KEY]: S(`alert#${key}`),
        state: S('claimed'),
        owner: S(owner),
        until: N(until),
        [DYNAMO_TTL_ATTRIBUTE]: N(seconds(until) + 3600),
      },
      // Free, or an expired claim, or a sent record past its retention.
      'attribute_not_exists(#pk) OR #until < :now',
      { ':now': N(now.getTime()) },
      'claim the alert',
    );
    if (claimed) return 'claimed';
    const existing = await this.get(`alert#${key}`);
    // Gone between the failed put and this read (abandoned): let the next run retry it.
    if (existing === undefined) return 'busy';
    return existing['state']?.S === 'sent' ? 'sent' : 'busy';
  }

  async completeAlert(key: string, owner: string, now: Date, retentionMs: number): Promise<void> {
    const until = now.getTime() + retentionMs;
    await this.call('record the alert as sent', () =>
      this.client.send(
        new PutItemCommand({
          TableName: this.table,
          Item: {
            [DYNAMO_KEY]: S(`alert#${key}`),
            state: S('sent'),
            owner: S(owner),
            until: N(until),
            [DYNAMO_TTL_ATTRIBUTE]: N(seconds(until)),
          },
        }),
      ),
    );
  }

  async abandonAlert(key: string, owner: string): Promise<void> {
    await this.conditionalDelete(`alert#${key}`, '#state = :claimed AND #owner = :owner', { ':claimed': S('claimed'), ':owner': S(owner) });
  }

  private async get(pk: string): Promise<Record<string, AttributeValue> | undefined> {
    const out = await this.call('read state', () =>
      this.client.send(new GetItemCommand({ TableName: this.table, Key: { [DYNAMO_KEY]: S(pk) }, ConsistentRead: true })),
    );
    return out.Item;
  }

  private async conditionalPut(
    item: Record<string, AttributeValue>,
    condition: string,
    values: Record<string, AttributeValue>,
    what: string,
  ): Promise<boolean> {
    try {
      await this.client.send(
        new PutItemCommand({
          TableName: this.table,
          Item: item,
          ConditionExpression: condition,
          ExpressionAttributeNames: usedNames(condition),
          ...(Object.keys(values).length === 0 ? {} : { ExpressionAttributeValues: values }),
        }),
      );
      return true;
    } catch (err) {
      if (err instanceof ConditionalCheckFailedException) return false;
      throw this.wrap(what, err);
    }
  }

  private async conditionalDelete(pk: string, condition: string, values: Record<string, AttributeValue>): Promise<void> {
    try {
      await this.client.send(
        new DeleteItemCommand({ TableName: this.table, Key: { [DYNAMO_KEY]: S(pk) }, ConditionExpression: condition, ExpressionAttributeNames: usedNames(condition), ExpressionAttributeValues: values }),
      );
    } catch (err) {
      if (err instanceof ConditionalCheckFailedException) return;
      throw this.wrap('release state', err);
    }
  }

  private call<T>(what: string, fn: () => Promise<T>): Promise<T> {
    return stateRequest(what, fn, (w, err) => this.wrap(w, err));
  }

  private wrap(what: string, err: unknown): StateError {
    const name = (err as { name?: string }).name ?? 'Error';
    const hint =
      name === 'ResourceNotFoundException'
        ? ` The table ${this.table} does not exist: check CREDWATCH_STATE_TABLE or deploy the stack.`
        : name === 'AccessDeniedException'
          ? ` Grant dynamodb:GetItem, PutItem and DeleteItem on table ${this.table} to the function's role.`
          : '';
    return new StateError('dynamodb-failed', `DynamoDB: could not ${what} in ${this.table} (${name}).${hint}`, { cause: err });
  }
}

/** DynamoDB rejects unused expression attribute names, so pass only those the expression uses. */
function usedNames(expression: string): Record<string, string> {
  return Object.fromEntries(Object.entries(NAMES).filter(([k]) => expression.includes(k)));
}
