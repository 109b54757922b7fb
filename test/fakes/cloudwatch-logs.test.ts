import { FilterLogEventsCommand, type FilterLogEventsCommandInput } from '@aws-sdk/client-cloudwatch-logs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { compilePattern, PatternSyntaxError } from './cloudwatch-logs-pattern.js';
import { fakeClient, FakeCloudWatchLogs } from './cloudwatch-logs.js';

const GROUP = '/aws/eks/c1/cluster';
const AUDIT = 'kube-apiserver-audit-0123456789abcdef0123456789abcdef';
const T0 = Date.parse('2026-03-02T09:00:00Z');
const msg = (verb: string, resource: string, extra: Record<string, unknown> = {}): string =>
  JSON.stringify({ kind: 'Event', verb, objectRef: { resource, ...extra } });

describe('cloudwatch logs pattern subset', () => {
  const doc = { verb: 'get', objectRef: { resource: 'secrets', name: 'a' }, code: 403, arr: [1, 2], flag: true, nil: null };
  it.each([
    ['{ $.verb = "get" }', true],
    ['{ $.verb = get }', true],
    ['{ $.verb = "g*" }', true],
    ['{ $.verb = "list" }', false],
    ['{ $.verb != "list" }', true],
    ['{ $.objectRef.subresource NOT EXISTS }', true],
    ['{ $.objectRef.name NOT EXISTS }', false],
    ['{ $.objectRef.subresource = "x" || $.verb = "get" && $.objectRef.resource = "secrets" }', true],
    ['{ ($.objectRef.subresource = "x" || $.verb = "get") && $.objectRef.resource = "pods" }', false],
    ['{ $.code >= 400 }', true],
    ['{ $.code < 400 }', false],
    ['{ $.arr = 1 }', false],
    ['{ $.arr != 1 }', false],
    ['{ $.arr[1] = 2 }', true],
    ['{ $.objectRef = "x" }', false],
    ['{ $.flag IS TRUE }', true],
    ['{ $.nil IS NULL }', true],
    ['{ $.missing != "x" }', false],
  ])('evaluates %s as %s', (pattern, expected) => {
    expect(compilePattern(pattern)(doc)).toBe(expected);
  });

  it('evaluates term patterns on the raw message: quoted exact phrases, AND, ?OR and -NOT, case-sensitive', () => {
    const cut = '{"kind":"Event","verb":"create","requestObject":{"spec":{"req[Truncated...]';
    expect(compilePattern('"[Truncated...]"')(undefined, cut)).toBe(true);
    expect(compilePattern('"[truncated...]"')(undefined, cut)).toBe(false);
    expect(compilePattern('"[Truncated...]"')(undefined, '{"kind":"Event","verb":"create"}')).toBe(false);
    expect(compilePattern('Event create')(undefined, cut)).toBe(true);
    expect(compilePattern('Event -create')(undefined, cut)).toBe(false);
    expect(compilePattern('?delete ?create')(undefined, cut)).toBe(true);
  });

  it('rejects what the fake does not understand', () => {
    expect(() => compilePattern('[Truncated...]')).toThrow(PatternSyntaxError);
    expect(() => compilePattern('%Truncated%')).toThrow(PatternSyntaxError);
    expect(() => compilePattern('?ERROR WARN')).toThrow(PatternSyntaxError);
    expect(() => compilePattern('{ $.verb = %ge.%  }')).toThrow(PatternSyntaxError);
    expect(() => compilePattern('{ $.verb = "get" ')).toThrow(PatternSyntaxError);
    expect(() => compilePattern('{ $.verb < get }')).toThrow(PatternSyntaxError);
  });
});

describe('cloudwatch logs fake', () => {
  let fake: FakeCloudWatchLogs;
  beforeEach(async () => {
    fake = await FakeCloudWatchLogs.start({ scanLimit: 3 });
  });
  afterEach(async () => {
    await fake.close();
  });

  const all = async (input: Omit<FilterLogEventsCommandInput, 'nextToken'>) => {
    const client = fakeClient(fake.endpoint);
    const ids: string[] = [];
    const pages: number[] = [];
    let nextToken: string | undefined;
    do {
      const out = await client.send(new FilterLogEventsCommand({ ...input, ...(nextToken === undefined ? {} : { nextToken }) }));
      pages.push(out.events?.length ?? 0);
      ids.push(...(out.events ?? []).map((e) => e.eventId ?? '?'));
      nextToken = out.nextToken;
    } while (nextToken !== undefined);
    return { ids, pages };
  };

  it('speaks JSON 1.1 and filters by event time (inclusive both ends), stream prefix and pattern', async () => {
    fake.putEvents(GROUP, [
      { logStreamName: AUDIT, timestamp: T0 - 1, message: msg('get', 'secrets'), eventId: 'before' },
      { logStreamName: AUDIT, timestamp: T0, message: msg('get', 'secrets'), eventId: 'start' },
      { logStreamName: 'kube-apiserver-0123', timestamp: T0 + 1, message: 'I0302 klog line', eventId: 'klog' },
      { logStreamName: AUDIT, timestamp: T0 + 2, message: msg('list', 'pods'), eventId: 'pods' },
      { logStreamName: AUDIT, timestamp: T0 + 3, message: msg('list', 'secrets'), eventId: 'list' },
      { logStreamName: AUDIT, timestamp: T0 + 10, message: msg('get', 'secrets'), eventId: 'end' },
      { logStreamName: AUDIT, timestamp: T0 + 11, message: msg('get', 'secrets'), eventId: 'after' },
    ]);
    const out = await all({
      logGroupName: GROUP,
      logStreamNamePrefix: 'kube-apiserver-audit-',
      startTime: T0,
      endTime: T0 + 10,
      filterPattern: '{ $.objectRef.resource = "secrets" }',
    });
    expect(out.ids).toEqual(['start', 'list', 'end']);
    // scanLimit 3 over 7 stored events; the last request only finds the event past endTime.
    expect(out.pages).toEqual([1, 2, 0]);
    const first = fake.requests[0];
    expect(first?.target).toBe('Logs_20140328.FilterLogEvents');
    expect(first?.body).toEqual({
      logGroupName: GROUP,
      logStreamNamePrefix: 'kube-apiserver-audit-',
      startTime: T0,
      endTime: T0 + 10,
      filterPattern: '{ $.objectRef.resource = "secrets" }',
    });
  });

  it('returns empty pages that still carry a token', async () => {
    fake.putEvents(GROUP, [
      ...Array.from({ length: 6 }, (_, i) => ({ logStreamName: AUDIT, timestamp: T0 + i, message: msg('get', 'pods') })),
      { logStreamName: AUDIT, timestamp: T0 + 9, message: msg('get', 'secrets'), eventId: 'late-match' },
    ]);
    const out = await all({ logGroupName: GROUP, filterPattern: '{ $.objectRef.resource = "secrets" }' });
    expect(out.pages).toEqual([0, 0, 1]);
    expect(out.ids).toEqual(['late-match']);
    expect(fake.requests.map((r) => r.nextToken === undefined)).toEqual([false, false, true]);
  });

  it('sorts by event time and honours limit as an upper bound', async () => {
    fake.putEvents(GROUP, [
      { logStreamName: AUDIT, timestamp: T0 + 2, message: msg('get', 'secrets'), eventId: 'b' },
      { logStreamName: AUDIT, timestamp: T0 + 1, ingestionTime: T0 + 900_000, message: msg('get', 'secrets'), eventId: 'a' },
    ]);
    const client = fakeClient(fake.endpoint);
    const out = await client.send(new FilterLogEventsCommand({ logGroupName: GROUP, limit: 1 }));
    expect(out.events?.map((e) => [e.eventId, e.timestamp, e.ingestionTime])).toEqual([['a', T0 + 1, T0 + 900_000]]);
    expect(out.nextToken).toBeTypeOf('string');
    expect(out.searchedLogStreams).toEqual([]);
  });

  it('caps a page at 1 MB of messages', async () => {
    const big = JSON.stringify({ verb: 'get', pad: 'x'.repeat(300_000) });
    const bigFake = await FakeCloudWatchLogs.start();
    bigFake.putEvents(GROUP, Array.from({ length: 4 }, (_, i) => ({ logStreamName: AUDIT, timestamp: T0 + i, message: big })));
    try {
      const out = await fakeClient(bigFake.endpoint).send(new FilterLogEventsCommand({ logGroupName: GROUP }));
      expect(out.events?.length).toBe(3);
      expect(out.nextToken).toBeTypeOf('string');
    } finally {
      await bigFake.close();
    }
  });

  it('caps a page at 10,000 events', async () => {
    const bigFake = await FakeCloudWatchLogs.start({ scanLimit: 20_000 });
    bigFake.putEvents(GROUP, Array.from({ length: 10_001 }, (_, i) => ({ logStreamName: AUDIT, timestamp: T0 + i, message: '{}' })));
    try {
      const out = await fakeClient(bigFake.endpoint).send(new FilterLogEventsCommand({ logGroupName: GROUP }));
      expect(out.events?.length).toBe(10_000);
      expect(out.nextToken).toBeTypeOf('string');
    } finally {
      await bigFake.close();
    }
  });

  it('answers errors in the service format', async () => {
    const client = fakeClient(fake.endpoint, { maxAttempts: 1 });
    await expect(client.send(new FilterLogEventsCommand({ logGroupName: '/aws/eks/none/cluster' }))).rejects.toMatchObject({
      name: 'ResourceNotFoundException',
      message: 'The specified log group does not exist.',
    });
    fake.createLogGroup(GROUP);
    await expect(client.send(new FilterLogEventsCommand({ logGroupName: GROUP, filterPattern: `{ $.verb = "${'v'.repeat(1020)}" }` }))).rejects.toMatchObject({
      name: 'InvalidParameterException',
    });
    await expect(client.send(new FilterLogEventsCommand({ logGroupName: GROUP, filterPattern: '%ERR.R%' }))).rejects.toMatchObject({
      name: 'InvalidParameterException',
    });
    await expect(client.send(new FilterLogEventsCommand({ logGroupName: GROUP, nextToken: 'forged' }))).rejects.toMatchObject({
      name: 'InvalidParameterException',
      message: 'The specified nextToken is invalid.',
    });
    await expect(
      client.send(new FilterLogEventsCommand({ logGroupName: GROUP, logStreamNamePrefix: 'a', logStreamNames: ['b'] })),
    ).rejects.toMatchObject({ name: 'InvalidParameterException' });
    expect(fake.requests.map((r) => [r.status, r.errorCode])).toEqual([
      [400, 'ResourceNotFoundException'],
      [400, 'InvalidParameterException'],
      [400, 'InvalidParameterException'],
      [400, 'InvalidParameterException'],
      [400, 'InvalidParameterException'],
    ]);
  });

  it('throttles on demand, and the SDK retries it', async () => {
    fake.putEvents(GROUP, [{ logStreamName: AUDIT, timestamp: T0, message: '{}', eventId: 'only' }]);
    fake.inject({ code: 'ThrottlingException', times: 2 });
    const out = await fakeClient(fake.endpoint, { maxAttempts: 3 }).send(new FilterLogEventsCommand({ logGroupName: GROUP }));
    expect(out.events?.map((e) => e.eventId)).toEqual(['only']);
    expect(fake.requests.map((r) => r.errorCode ?? r.status)).toEqual(['ThrottlingException', 'ThrottlingException', 200]);
  });

  it('fails a later request on demand', async () => {
    fake.createLogGroup(GROUP);
    fake.inject({ code: 'ServiceUnavailableException', afterRequests: 1, times: Infinity });
    const client = fakeClient(fake.endpoint, { maxAttempts: 2 });
    await client.send(new FilterLogEventsCommand({ logGroupName: GROUP }));
    await expect(client.send(new FilterLogEventsCommand({ logGroupName: GROUP }))).rejects.toMatchObject({ name: 'ServiceUnavailableException' });
    expect(fake.requests.map((r) => r.status)).toEqual([200, 500, 500]);
  });

  it('accepts a log group ARN as identifier', async () => {
    fake.putEvents(GROUP, [{ logStreamName: AUDIT, timestamp: T0, message: '{}', eventId: 'x' }]);
    const out = await fakeClient(fake.endpoint).send(
      new FilterLogEventsCommand({ logGroupIdentifier: `arn:aws:logs:us-west-2:111122223333:log-group:${GROUP}:*` }),
    );
    expect(out.events?.map((e) => e.eventId)).toEqual(['x']);
  });
});
