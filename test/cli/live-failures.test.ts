import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { asGke, k8sEvent, KUBECTL_UA } from '../../examples/audit-records.js';
import { FakeCloudLogging } from '../fakes/cloud-logging.js';
import { closedPort, isolatedEnv, limited, runCredwatch, silentPort, type ProcessResult } from './cli-process.js';

/**
 * Every live source, run as a user would run it (a child process with the real SDKs), without
 * credentials, against a closed loopback port, and against a loopback port that accepts and never
 * answers. Each must fail with one line that says what to do, exit 2, print no stack trace, and
 * let the process end: the time bounds below catch a hang (the process staying alive on an SDK's
 * timer for minutes), they are not speed targets.
 */

const WINDOW = ['--from', '2026-03-02T09:00:00Z', '--to', '2026-03-02T09:10:00Z'];
const WORKSPACE = '00000000-0000-4000-8000-000000000000';
const AWS_KEYS = { AWS_ACCESS_KEY_ID: 'AKIAIOSFODNN7EXAMPLE', AWS_SECRET_ACCESS_KEY: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY', AWS_REGION: 'us-west-2' };
/** A process that did not end by this time is hanging on something (each case's own waits are a few seconds). */
const HANG_MS = 40_000;

interface SourceCase {
  name: string;
  args: string[];
  /**
   * The names in the FAILED lines: the audit source, and the runtime source where there is one.
   * Before a source exists it is named by its flag (`aks:<workspace>`), after by its cluster.
   */
  labels: string[][];
  credentialHint: string;
  /** Credentials that are accepted locally, and the endpoint override, for the unreachable cases. */
  reachEnv: (port: number) => NodeJS.ProcessEnv;
  /** Environment for the no-credentials case: an endpoint the source never gets to use. */
  noCredsEnv: (port: number) => NodeJS.ProcessEnv;
}

const CASES: SourceCase[] = [
  {
    name: 'EKS',
    args: ['--eks', 'prod-eks-1', '--region', 'us-west-2'],
    labels: [['eks:prod-eks-1']],
    credentialHint: '`aws sso login`',
    reachEnv: (port) => ({ ...AWS_KEYS, CREDWATCH_EKS_ENDPOINT: `http://127.0.0.1:${port}` }),
    noCredsEnv: (port) => ({ CREDWATCH_EKS_ENDPOINT: `http://127.0.0.1:${port}` }),
  },
  {
    name: 'EKS runtime sensor',
    args: ['--eks', 'prod-eks-1', '--region', 'us-west-2', '--eks-runtime'],
    labels: [['eks:prod-eks-1'], ['eks-runtime:prod-eks-1']],
    credentialHint: '`aws sso login`',
    reachEnv: (port) => ({ ...AWS_KEYS, CREDWATCH_EKS_ENDPOINT: `http://127.0.0.1:${port}` }),
    noCredsEnv: (port) => ({ CREDWATCH_EKS_ENDPOINT: `http://127.0.0.1:${port}` }),
  },
  {
    name: 'AKS',
    args: ['--aks', WORKSPACE, '--aks-cluster', 'aks-prod-1'],
    labels: [[`aks:${WORKSPACE}`, 'aks:aks-prod-1']],
    credentialHint: '`az login`',
    reachEnv: (port) => ({ CREDWATCH_AKS_TOKEN: 'loopback-test-token', CREDWATCH_AKS_ENDPOINT: `https://127.0.0.1:${port}` }),
    noCredsEnv: (port) => ({ CREDWATCH_AKS_ENDPOINT: `https://127.0.0.1:${port}` }),
  },
  {
    name: 'AKS runtime sensor',
    args: ['--aks', WORKSPACE, '--aks-cluster', 'aks-prod-1', '--aks-runtime'],
    labels: [[`aks:${WORKSPACE}`, 'aks:aks-prod-1'], ['aks-runtime:aks-prod-1']],
    credentialHint: '`az login`',
    reachEnv: (port) => ({ CREDWATCH_AKS_TOKEN: 'loopback-test-token', CREDWATCH_AKS_ENDPOINT: `https://127.0.0.1:${port}` }),
    noCredsEnv: (port) => ({ CREDWATCH_AKS_ENDPOINT: `https://127.0.0.1:${port}` }),
  },
  {
    name: 'GKE',
    args: ['--gke', 'acme-prod', '--gke-cluster', 'gke-prod-1'],
    labels: [['gke:acme-prod', 'gke:gke-prod-1']],
    credentialHint: '`gcloud auth application-default login`',
    reachEnv: (port) => ({ CREDWATCH_GKE_ENDPOINT: `127.0.0.1:${port}` }),
    // A loopback GKE endpoint is used without credentials, so this case has none: the client is
    // the production one, and it fails on Application Default Credentials before any request.
    noCredsEnv: () => ({}),
  },
  {
    name: 'GKE runtime sensor',
    args: ['--gke', 'acme-prod', '--gke-cluster', 'gke-prod-1', '--gke-runtime'],
    labels: [['gke:acme-prod', 'gke:gke-prod-1'], ['gke-runtime:gke-prod-1']],
    credentialHint: '`gcloud auth application-default login`',
    reachEnv: (port) => ({ CREDWATCH_GKE_ENDPOINT: `127.0.0.1:${port}` }),
    noCredsEnv: () => ({}),
  },
];

function expectOneLineFailures(r: ProcessResult, labels: string[][], pattern: RegExp): void {
  expect(r.code, r.stderr).toBe(2);
  expect(r.stdout).toBe('No findings at or above info.\n');
  // No stack trace, no credential-chain dump, no unhandled rejection.
  expect(r.stderr).not.toMatch(/^\s+at /m);
  expect(r.stderr).not.toMatch(/CredentialUnavailableError|Unhandled|outside the request/);
  // Third-party warnings (the AWS SDK's Node-version notice under Node 20) stay out of the output.
  expect(r.stderr).not.toMatch(/NodeVersionSupportWarning|\(node:\d+\)/);
  const failed = r.stderr.split('\n').filter((l) => l.includes('FAILED'));
  expect(failed, r.stderr).toHaveLength(labels.length);
  for (const names of labels) {
    const label = names.find((n) => failed.some((l) => l.startsWith(`  FAILED ${n}: `))) ?? names[0]!;
    const line = failed.find((l) => l.startsWith(`  FAILED ${label}: `));
    expect(line, `${names.join(' or ')} in\n${r.stderr}`).toBeDefined();
    expect(line).toMatch(pattern);
    // The prefix is said once, not `eks:c1: eks:c1: …`.
    expect(line!.slice(`  FAILED ${label}: `.length)).not.toContain(`${label}:`);
    expect(line!.length).toBeLessThan(500);
  }
  expect(r.ms).toBeLessThan(HANG_MS);
}

describe('live sources fail fast, in one line, and let the process end', () => {
  let metadata: number;
  let closed: number;
  let silent: { port: number; close: () => Promise<void> };
  const results = new Map<string, ProcessResult>();

  beforeAll(async () => {
    metadata = await closedPort();
    closed = await closedPort();
    silent = await silentPort();
    const tasks: Array<() => Promise<void>> = [];
    for (const c of CASES) {
      tasks.push(async () => void results.set(`${c.name}/no-credentials`, await runCredwatch(['scan', ...c.args, ...WINDOW], isolatedEnv(metadata, c.noCredsEnv(closed)), HANG_MS + 5_000)));
      tasks.push(async () => void results.set(`${c.name}/closed`, await runCredwatch(['scan', ...c.args, ...WINDOW], isolatedEnv(metadata, c.reachEnv(closed)), HANG_MS + 5_000)));
      tasks.push(async () =>
        void results.set(`${c.name}/silent`, await runCredwatch(['scan', ...c.args, ...WINDOW, '--timeout', '3s'], isolatedEnv(metadata, c.reachEnv(silent.port)), HANG_MS + 5_000)),
      );
    }
    await limited(3, tasks);
  }, 300_000);

  afterAll(async () => {
    await silent.close();
  });

  for (const c of CASES) {
    it(`${c.name} without credentials names the command that fixes it`, () => {
      const r = results.get(`${c.name}/no-credentials`)!;
      expectOneLineFailures(r, c.labels, new RegExp(`credentials.*${c.credentialHint.replace(/[.*+?^${}()|[\]\\`]/g, '\\$&')}`));
    });

    it(`${c.name} against a closed port says the API cannot be reached`, () => {
      const r = results.get(`${c.name}/closed`)!;
      // grpc-js says "No connection established" where the other clients name ECONNREFUSED.
      expectOneLineFailures(r, c.labels, /cannot reach the .* API \((ECONNREFUSED|no answer)\)/);
    });

    it(`${c.name} against a port that never answers gives up after --timeout`, () => {
      const r = results.get(`${c.name}/silent`)!;
      expectOneLineFailures(r, c.labels, /no answer from the .* API within 3 s|cannot reach the .* API/);
    });
  }
});

describe('a failing live source does not stop the others', () => {
  let fake: FakeCloudLogging;
  beforeAll(async () => {
    fake = await FakeCloudLogging.start();
  });
  afterAll(async () => {
    await fake.stop();
  });

  it('scan --eks (no credentials) --gke (fake) prints the GKE finding and exits 2', async () => {
    const node = 'system:node:gke-gke-prod-1-default-pool-1a2b3c4d-x7k2';
    fake.add(
      asGke(k8sEvent({ verb: 'list', user: node, resource: 'secrets', namespace: 'payments', userAgent: KUBECTL_UA, sourceIPs: ['198.51.100.7'], time: '2026-03-02T09:01:00.000000Z', auditID: 'a1b2c3d4-0000-4000-8000-000000000001' }), {
        project: 'acme-prod',
        cluster: 'gke-prod-1',
      }),
    );
    const metadata = await closedPort();
    const r = await runCredwatch(
      ['scan', '--eks', 'prod-eks-1', '--region', 'us-west-2', '--gke', 'acme-prod', '--from', '2026-03-02T09:00:00Z', '--to', '2026-03-02T09:06:00Z', '--format', 'jsonl'],
      isolatedEnv(metadata, { CREDWATCH_GKE_ENDPOINT: fake.endpoint }),
    );
    expect(r.code).toBe(2);
    expect(r.stdout.trim().split('\n').map((l) => (JSON.parse(l) as { rule: string }).rule)).toContain('secret-read-by-node');
    expect(r.stderr).toMatch(/^ {2}FAILED eks:prod-eks-1: no AWS credentials .*`aws sso login`/m);
    expect(r.stderr).not.toMatch(/^\s+at /m);
  });

  it('watch --eks (no credentials) --gke (fake) keeps watching GKE', async () => {
    const metadata = await closedPort();
    const env = isolatedEnv(metadata, { CREDWATCH_GKE_ENDPOINT: fake.endpoint });
    const r = await runCredwatch(['watch', '--eks', 'prod-eks-1', '--region', 'us-west-2', '--gke', 'acme-prod', '--runs', '1', '--state', `${env['HOME']}/state.json`], env);
    expect(r.stderr).toMatch(/credwatch watch: eks:prod-eks-1 FAILED to start: no AWS credentials .*`aws sso login`/);
    expect(r.stderr).toMatch(/credwatch watch: gke:acme-prod ok /);
    expect(r.code).toBe(2);
    expect(r.stderr).not.toMatch(/^\s+at /m);
  });
});
