import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Firestore } from '@google-cloud/firestore';
import { http } from '@google-cloud/functions-framework';
import { getTestServer } from '@google-cloud/functions-framework/testing';
import type { PubSub } from '@google-cloud/pubsub';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { createGkeSource } from '../../adapters/gke/source.js';
import { asGke, k8sEvent, KUBECTL_UA } from '../../examples/audit-records.js';
import type { Alert } from '../../core/model/finding.js';
import type { RunSummary } from '../../core/scan/scan.js';
import { firestoreDocId } from '../../core/scan/state/firestore-store.js';
import { createGcpHandler } from '../../functions/gcp/index.js';
import type { LogEntry } from '../../functions/gcp/structured-log.js';
import { ENV } from '../../functions/shared/runtime-config.js';
import type { SourceBuilder } from '../../functions/shared/scheduled-run.js';
import { FakeCloudLogging } from '../fakes/cloud-logging.js';
import { FirestoreFake } from '../fakes/firestore.js';
import { PubSubFake } from '../fakes/pubsub.js';
import { TEST_PROJECT, testFirestore, testPubSub } from '../helpers/gcp-clients.js';

const NOW = Date.parse('2026-03-02T09:10:00Z');
const MIN = 60_000;
const TOPIC = `projects/${TEST_PROJECT}/topics/credwatch-alerts`;
const NODE = 'system:node:gke-gke-prod-1-default-pool-1a2b3c4d-x7k2';
const AUDIT_ID = 'a1b2c3d4-0000-4000-8000-000000000001';
const GKE_SOURCE = 'gke:gke-prod-1';
const TRACE = '105445aa7843bc8bf206b12000100000';

/** What Cloud Scheduler sends to an HTTP target with an OIDC token (the token itself is checked by Cloud Run). */
function schedulerHeaders(at: number): Record<string, string> {
  return {
    'user-agent': 'Google-Cloud-Scheduler',
    'x-cloudscheduler': 'true',
    'x-cloudscheduler-jobname': 'projects/acme-prod/locations/europe-west1/jobs/credwatch-scan',
    'x-cloudscheduler-scheduletime': new Date(at).toISOString(),
    authorization: 'Bearer eyJhbGciOiJSUzI1NiJ9.eyJhdWQiOiJodHRwczovL2NyZWR3YXRjaCJ9.c2ln',
    'x-cloud-trace-context': `${TRACE}/1;o=1`,
    'content-type': 'application/octet-stream',
  };
}

describe('Google Cloud Function, end to end', () => {
  let logging: FakeCloudLogging;
  let firestoreFake: FirestoreFake;
  let pubsubFake: PubSubFake;
  let firestore: Firestore;
  let pubsub: PubSub;
  const servers: Server[] = [];
  let functions = 0;

  beforeAll(async () => {
    [logging, firestoreFake, pubsubFake] = await Promise.all([FakeCloudLogging.start(), FirestoreFake.start(), PubSubFake.start()]);
    pubsubFake.topics.add(TOPIC);
    firestore = testFirestore(firestoreFake.host);
    pubsub = testPubSub(pubsubFake.endpoint);
    // A stolen kubelet credential lists the Secrets of a namespace with kubectl, two minutes ago.
    const list = k8sEvent({
      verb: 'list',
      user: NODE,
      resource: 'secrets',
      namespace: 'payments',
      userAgent: KUBECTL_UA,
      sourceIPs: ['198.51.100.7'],
      time: new Date(NOW - 2 * MIN).toISOString(),
      auditID: AUDIT_ID,
    });
    logging.add(asGke(list, { project: TEST_PROJECT, cluster: 'gke-prod-1' }));
  });

  afterAll(async () => {
    for (const s of servers) await new Promise<void>((r) => s.close(() => r()));
    await pubsub.close();
    await firestore.terminate();
    await Promise.all([logging.stop(), firestoreFake.stop(), pubsubFake.stop()]);
  });

  beforeEach(() => {
    pubsubFake.reset();
    firestoreFake.clearFaults();
  });

  const buildSource: SourceBuilder = async (spec) => {
    if (spec.cloud !== 'gke') throw new Error('no AWS credentials in this test');
    return createGkeSource({ projects: spec.projects, ...(spec.cluster === undefined ? {} : { cluster: spec.cluster }), endpoint: logging.endpoint, gaxOptions: { maxRetries: 0 } });
  };

  function envFor(collection: string, sources: unknown[] = [{ cloud: 'gke', projects: [TEST_PROJECT], cluster: 'gke-prod-1' }]): Record<string, string> {
    return {
      [ENV.sources]: JSON.stringify(sources),
      [ENV.gcpProject]: TEST_PROJECT,
      [ENV.pubsubTopic]: 'credwatch-alerts',
      [ENV.firestoreCollection]: collection,
    };
  }

  /** Registers a handler with the Functions Framework and serves it on 127.0.0.1 as Cloud Run would. */
  async function deploy(env: Record<string, string>, clock: { now: number }, publishTotalMs = 5_000) {
    const logs: LogEntry[] = [];
    const name = `credwatchScanTest${++functions}`;
    http(
      name,
      createGcpHandler({
        env,
        firestore,
        pubsub,
        buildSource,
        clock: () => new Date(clock.now),
        log: (e) => logs.push(e),
        publishRetry: { totalTimeoutMillis: publishTotalMs, initialRetryDelayMillis: 1, maxRetryDelayMillis: 5 },
      }),
    );
    const url = await listen(getTestServer(name));
    const invoke = async (): Promise<{ status: number; body: RunSummary }> => {
      const res = await fetch(url, { method: 'POST', headers: schedulerHeaders(clock.now), body: '' });
      return { status: res.status, body: (await res.json()) as RunSummary };
    };
    return { invoke, logs };
  }

  async function listen(server: Server): Promise<string> {
    servers.push(server);
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    return `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
  }

  const checkpointOf = (collection: string) => firestoreFake.fieldsOf(TEST_PROJECT, '(default)', collection, firestoreDocId('checkpoint', GKE_SOURCE))?.['to'];
  const alertsPublished = () => pubsubFake.published.map((m) => JSON.parse(m.data) as Alert);

  describe('one deployment over two runs', () => {
    const clock = { now: NOW };
    let fn: Awaited<ReturnType<typeof deploy>>;
    let sent = 0;
    beforeAll(async () => {
      fn = await deploy(envFor('credwatch', [{ cloud: 'gke', projects: [TEST_PROJECT], cluster: 'gke-prod-1' }, { cloud: 'eks', cluster: 'prod-eks-1', region: 'us-west-2' }]), clock);
    });

    it('turns a scheduled request into published alerts with Firestore state, and isolates a failing source', async () => {
      const { status, body } = await fn.invoke();
      // The EKS source fails (no AWS here): the run answers 500 so Scheduler and monitoring see it.
      expect(status).toBe(500);
      const [gke, eks] = body.sources;
      expect(gke).toMatchObject({ source: GKE_SOURCE, cloud: 'gke', status: 'ok', events: 1, checkpointAdvanced: true, alertsFailed: 0, duplicatesSuppressed: 0 });
      expect(gke!.window).toEqual({ from: new Date(NOW - 6 * MIN).toISOString(), to: new Date(NOW).toISOString() });
      expect(gke!.alertsSent).toBe(gke!.findings - gke!.belowAlertSeverity);
      expect(eks).toMatchObject({ source: 'eks:prod-eks-1', status: 'failed', checkpointAdvanced: false });
      expect(eks!.error).toBe(
        `eks:prod-eks-1: reading ${new Date(NOW - 6 * MIN).toISOString()} to ${new Date(NOW).toISOString()} failed, the window is retried by the next run: eks:prod-eks-1 could not be set up: no AWS credentials in this test`,
      );
      expect(body.ok).toBe(false);

      const alerts = alertsPublished();
      expect(alerts).toHaveLength(gke!.alertsSent);
      expect(alerts.map((a) => a.rule)).toContain('secret-read-by-node');
      for (const [i, msg] of pubsubFake.published.entries()) {
        const a = alerts[i]!;
        expect(msg.topic).toBe(TOPIC);
        expect(a.event.id).toBe(AUDIT_ID);
        expect(a.cluster).toBe('gke-prod-1');
        expect(msg.attributes).toEqual({ rule: a.rule, severity: a.severity, cluster: 'gke-prod-1', alertId: a.id });
      }
      sent = alerts.length;
      expect(checkpointOf('credwatch')).toEqual({ stringValue: new Date(NOW).toISOString() });

      expect(fn.logs.map((l) => [l.severity, l.message, l['source']])).toEqual([
        ['INFO', 'source scanned', GKE_SOURCE],
        ['ERROR', 'source scan failed', 'eks:prod-eks-1'],
        ['ERROR', 'scan run finished', undefined],
      ]);
      expect(fn.logs[0]).toMatchObject({
        runId: body.runId,
        alertsSent: sent,
        'logging.googleapis.com/trace': `projects/${TEST_PROJECT}/traces/${TRACE}`,
        'logging.googleapis.com/labels': { credwatch_source: GKE_SOURCE, credwatch_status: 'ok' },
        scheduler: { jobName: 'projects/acme-prod/locations/europe-west1/jobs/credwatch-scan', scheduleTime: new Date(NOW).toISOString() },
      });
      expect(fn.logs[2]).toMatchObject({ ok: false, sourcesFailed: 1, alertsSent: sent, eventsScanned: 1 });
    });

    it('does not publish an alert again when the next run re-reads the overlap', async () => {
      clock.now = NOW + 5 * MIN;
      const { status, body } = await fn.invoke();
      // The EKS source fails (no AWS here): the run answers 500 so Scheduler and monitoring see it.
      expect(status).toBe(500);
      // The re-read request came in with the first run's correlation state: judged there, not again.
      expect(body.sources[0]).toMatchObject({ status: 'ok', events: 1, alertsSent: 0, checkpointAdvanced: true, correlation: expect.objectContaining({ skippedAsJudged: 1 }) });
      expect(sent).toBeGreaterThan(0);
      expect(pubsubFake.published).toHaveLength(0);
      expect(checkpointOf('credwatch')).toEqual({ stringValue: new Date(NOW + 5 * MIN).toISOString() });
    });
  });

  it('sets alerts aside when publishing fails, advances the checkpoint, and delivers them on the next run', async () => {
    const clock = { now: NOW - 5 * MIN };
    const fn = await deploy(envFor('credwatch-sink-down'), clock, 50);
    // The run before: nothing in its window yet, so it checkpoints at NOW - 5 min.
    expect((await fn.invoke()).body.sources[0]).toMatchObject({ status: 'ok', events: 0, checkpointAdvanced: true });
    clock.now = NOW;
    pubsubFake.failAlways('UNAVAILABLE');
    const down = await fn.invoke();
    // Undelivered alerts are a failed run for Cloud Scheduler and monitoring.
    expect(down.status).toBe(500);
    const failed = down.body.sources[0]!;
    expect(failed).toMatchObject({ status: 'undelivered', events: 1, alertsSent: 0, checkpointAdvanced: true });
    expect(failed.alertsFailed).toBe(failed.findings - failed.belowAlertSeverity);
    expect(failed.alertsFailed).toBeGreaterThan(0);
    expect(failed.alertsSetAside).toBe(failed.alertsFailed);
    expect(failed.warnings.at(-1)).toContain('set aside, the next runs retry it');
    expect(pubsubFake.published).toHaveLength(0);
    expect(checkpointOf('credwatch-sink-down')).toEqual({ stringValue: new Date(NOW).toISOString() });
    expect(fn.logs.at(-2)).toMatchObject({ severity: 'ERROR', message: 'alerts not delivered', source: GKE_SOURCE });

    pubsubFake.failAlways(undefined);
    clock.now = NOW + 5 * MIN;
    const next = await fn.invoke();
    expect(next.body.sources[0]).toMatchObject({ status: 'ok', alertsSent: failed.alertsFailed, duplicatesSuppressed: 0, checkpointAdvanced: true });
    expect(next.body.sources[0]!.window).toEqual({ from: new Date(NOW - 2 * MIN).toISOString(), to: new Date(NOW + 5 * MIN).toISOString() });
    expect(alertsPublished().map((a) => a.event.id)).toEqual(Array.from({ length: failed.alertsFailed }, () => AUDIT_ID));
    expect(checkpointOf('credwatch-sink-down')).toEqual({ stringValue: new Date(NOW + 5 * MIN).toISOString() });
  });

  it('lets only one of two concurrent invocations scan a source, so nothing is published twice', async () => {
    const clock = { now: NOW };
    const fn = await deploy(envFor('credwatch-concurrent'), clock);
    const hold = pubsubFake.holdNext();
    const first = fn.invoke();
    await hold.arrived; // the first run holds the lease and is publishing
    const second = await fn.invoke();
    expect(second.status).toBe(200);
    expect(second.body.sources[0]).toMatchObject({ source: GKE_SOURCE, status: 'locked', alertsSent: 0, checkpointAdvanced: false });
    expect(second.body.sources[0]!.warnings).toEqual([`another run holds the lease on ${GKE_SOURCE}; it scans this source now`]);
    hold.release();
    const done = await first;
    const sent = done.body.sources[0]!.alertsSent;
    expect(done.body.sources[0]).toMatchObject({ status: 'ok', checkpointAdvanced: true });
    expect(pubsubFake.published).toHaveLength(sent);
    expect(new Set(alertsPublished().map((a) => a.id)).size).toBe(sent);
    expect(second.body.runId).not.toBe(done.body.runId);
  });

  it('reports a Firestore permission problem for the source and answers 500 with the summary', async () => {
    const clock = { now: NOW };
    const fn = await deploy(envFor('credwatch-denied'), clock);
    firestoreFake.failNext({ rpc: 'commit', status: 'PERMISSION_DENIED' });
    const { status, body } = await fn.invoke();
    expect(status).toBe(500);
    expect(body.sources[0]).toMatchObject({ status: 'failed', checkpointAdvanced: false });
    expect(body.sources[0]!.error).toContain("state store: Firestore: could not take the lease in collection credwatch-denied of database (default) in project acme-prod");
    expect(body.sources[0]!.error).toContain('roles/datastore.user');
    expect(pubsubFake.published).toHaveLength(0);
  });

  describe('the registered credwatchScan function', () => {
    let url: string;
    let out: string[];
    beforeAll(async () => {
      url = await listen(getTestServer('credwatchScan'));
    });
    beforeEach(() => {
      out = [];
      vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
        out.push(String(chunk));
        return true;
      });
    });
    afterEach(() => {
      vi.restoreAllMocks();
      vi.unstubAllEnvs();
    });

    it('answers 500 naming the missing variable, and logs it as an error', async () => {
      vi.stubEnv(ENV.sources, JSON.stringify([{ cloud: 'gke', projects: [TEST_PROJECT] }]));
      vi.stubEnv(ENV.gcpProject, undefined);
      vi.stubEnv(ENV.pubsubTopic, 'credwatch-alerts');
      const res = await fetch(url, { method: 'POST', headers: schedulerHeaders(NOW), body: '' });
      expect(res.status).toBe(500);
      const message = 'GOOGLE_CLOUD_PROJECT is not set: set it to the ID of the project that holds the Firestore database and the Pub/Sub topic.';
      expect(await res.json()).toEqual({ error: message, code: 'missing-env' });
      const lines = out.map((l) => JSON.parse(l) as LogEntry);
      expect(lines).toEqual([{ severity: 'ERROR', message: `credwatch is misconfigured: ${message}`, code: 'missing-env' }]);
    });

    it('answers 500 for a malformed source list or database id', async () => {
      vi.stubEnv(ENV.sources, '[{"cloud":"gke"}]');
      const bad = await fetch(url, { method: 'POST', headers: schedulerHeaders(NOW), body: '' });
      expect(bad.status).toBe(500);
      expect(((await bad.json()) as { error: string }).error).toContain('CREDWATCH_SOURCES: 0.projects:');
      vi.stubEnv(ENV.sources, JSON.stringify([{ cloud: 'gke', projects: [TEST_PROJECT] }]));
      vi.stubEnv(ENV.gcpProject, TEST_PROJECT);
      vi.stubEnv(ENV.pubsubTopic, 'credwatch-alerts');
      vi.stubEnv(ENV.firestoreDatabase, 'Credwatch_DB');
      const db = await fetch(url, { method: 'POST', headers: schedulerHeaders(NOW), body: '' });
      expect(db.status).toBe(500);
      expect(((await db.json()) as { error: string }).error).toBe(
        'CREDWATCH_FIRESTORE_DATABASE=Credwatch_DB: expected (default) or a database ID of 4 to 63 lowercase letters, digits and hyphens that starts with a letter.',
      );
    });
  });
});
