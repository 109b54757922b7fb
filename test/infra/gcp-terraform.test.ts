import { parse } from '@cdktn/hcl2json';
import { fork, spawnSync } from 'node:child_process';
import { builtinModules } from 'node:module';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { resolveDetectionConfig } from '../../core/engine/detection-config.js';
import { FIRESTORE_DEFAULT_COLLECTION, FIRESTORE_TTL_FIELD } from '../../core/scan/state/firestore-store.js';
import { ENV, SourceSpecSchema } from '../../functions/shared/runtime-config.js';
import { RULES } from '../../rules/index.js';
import { GCP_ENTRY_POINT, packageGcpFunction } from '../../scripts/package-gcp-function.js';
import { deploy, evaluate, planChanges, stateMove, stubModule, terraformEnv, terraformPath, type StubModule } from './terraform-stub.js';

const MODULE = join(import.meta.dirname, '..', '..', 'infra', 'gcp');

type Block = Record<string, unknown>;
/** hcl2json's shape: `resource.<type>.<name>` is a list with one body; nested blocks are lists too. */
interface Hcl {
  resource: Record<string, Record<string, Block[]>>;
  variable: Record<string, Block[]>;
  output: Record<string, Block[]>;
  locals: Block[];
  data: Record<string, Record<string, Block[]>>;
}

let hcl: Hcl;

/** Parses every .tf file of the module with HashiCorp's HCL parser (WebAssembly build) and merges them. */
beforeAll(async () => {
  const merged: Hcl = { resource: {}, variable: {}, output: {}, locals: [], data: {} };
  for (const file of readdirSync(MODULE).filter((f) => f.endsWith('.tf')).sort()) {
    const doc = (await parse(file, readFileSync(join(MODULE, file), 'utf8'))) as Partial<Hcl>;
    for (const [type, byName] of Object.entries(doc.resource ?? {})) merged.resource[type] = { ...merged.resource[type], ...byName };
    for (const [type, byName] of Object.entries(doc.data ?? {})) merged.data[type] = { ...merged.data[type], ...byName };
    Object.assign(merged.variable, doc.variable ?? {});
    Object.assign(merged.output, doc.output ?? {});
    merged.locals.push(...(doc.locals ?? []));
  }
  hcl = merged;
});

function resource(type: string, name: string): Block {
  const body = hcl.resource[type]?.[name]?.[0];
  if (body === undefined) throw new Error(`infra/gcp has no resource ${type}.${name}`);
  return body;
}
const block = (b: Block, name: string): Block => {
  const v = (b[name] as Block[] | undefined)?.[0];
  if (v === undefined) throw new Error(`block ${name} missing`);
  return v;
};
const local = (name: string): unknown => hcl.locals.find((l) => name in l)?.[name];

describe('GCP Terraform module', () => {
  it('deploys a 2nd-gen Node.js 22 function with the credwatchScan entry point from the packaged source', () => {
    const fn = resource('google_cloudfunctions2_function', 'scanner');
    const build = block(fn, 'build_config');
    expect(build['runtime']).toBe('nodejs22');
    expect(build['entry_point']).toBe(GCP_ENTRY_POINT);
    expect(block(block(build, 'source'), 'storage_source')).toEqual({
      bucket: '${google_storage_bucket.source.name}',
      object: '${google_storage_bucket_object.source.name}',
    });
    expect(resource('google_storage_bucket_object', 'source')['source']).toBe('${data.archive_file.source.output_path}');
    expect(hcl.data['archive_file']?.['source']?.[0]?.['source_dir']).toBe('${local.source_dir}');
    expect(local('source_dir')).toBe('${coalesce(var.function_source_dir, "${path.module}/../../dist/gcp-function")}');
    const service = block(fn, 'service_config');
    expect(service).toMatchObject({
      max_instance_count: 1,
      max_instance_request_concurrency: 1,
      timeout_seconds: '${var.function_timeout_seconds}',
      service_account_email: '${google_service_account.accounts["runtime"].email}',
      environment_variables: '${local.environment}',
    });
  });

  it('calls the function with an OIDC token of the invoker account, with a deadline above the timeout', () => {
    const job = resource('google_cloud_scheduler_job', 'scan');
    expect(hcl.variable['schedule']?.[0]?.['default']).toBe('*/5 * * * *');
    expect(job['schedule']).toBe('${var.schedule}');
    expect(job['attempt_deadline']).toBe('${var.function_timeout_seconds + 60}s');
    expect(block(job, 'retry_config')).toEqual({ retry_count: 0 });
    const target = block(job, 'http_target');
    expect(block(target, 'oidc_token')).toEqual({
      service_account_email: '${google_service_account.accounts["invoker"].email}',
      audience: '${google_cloudfunctions2_function.scanner.service_config[0].uri}',
    });
  });

  it('orders every service account and binding after the API enablement, and builds with its own account', () => {
    const apis = resource('google_project_service', 'apis')['for_each'] as string;
    for (const api of ['iam.googleapis.com', 'cloudresourcemanager.googleapis.com', 'cloudscheduler.googleapis.com', 'monitoring.googleapis.com', 'cloudbuild.googleapis.com']) {
      expect(apis).toContain(`"${api}"`);
    }
    const after = (b: Block) => ((b['depends_on'] as string[] | undefined) ?? []).includes('${google_project_service.apis}');
    const accounts = resource('google_service_account', 'accounts');
    expect(accounts['for_each']).toBe('${local.service_accounts}');
    expect(Object.keys(local('service_accounts') as Block).sort()).toEqual(['build', 'invoker', 'runtime']);
    expect(after(accounts)).toBe(true);
    expect(after(resource('google_service_account_iam_member', 'scheduler_token'))).toBe(true);
    expect(after(hcl.data['google_project']!['this']![0]!)).toBe(true);
    const fn = resource('google_cloudfunctions2_function', 'scanner');
    expect(block(fn, 'build_config')['service_account']).toBe('${google_service_account.accounts["build"].id}');
    expect(fn['depends_on']).toEqual(expect.arrayContaining(['${google_project_iam_member.build}', '${google_storage_bucket_iam_member.build_source}']));
  });

  it('grants the runtime account only private log reading on the scanned projects, its database, and publishing to its topic', () => {
    const runtime = 'serviceAccount:${google_service_account.accounts["runtime"].email}';
    const grants = Object.entries(hcl.resource)
      .filter(([type]) => type.endsWith('_iam_member'))
      .flatMap(([type, byName]) => Object.values(byName).map((b): Block => ({ type, ...b[0]! })))
      .filter((g) => g['member'] === runtime)
      .map((g) => `${String(g['type'])} ${String(g['role'])} ${String(g['topic'] ?? g['project'])}`);
    expect(grants.sort()).toEqual([
      'google_project_iam_member roles/datastore.user ${var.project}',
      'google_project_iam_member roles/logging.privateLogViewer ${each.value}',
      'google_pubsub_topic_iam_member roles/pubsub.publisher ${google_pubsub_topic.alerts.name}',
    ]);
  });

  it('every variable is named in docs/deploy.md', () => {
    const doc = readFileSync(join(MODULE, '..', '..', 'docs', 'deploy.md'), 'utf8');
    for (const name of Object.keys(hcl.variable)) expect(doc.includes(`\`${name}\``) || doc.includes(`-var ${name}=`), name).toBe(true);
  });

  it('creates the topic and a Firestore database with a TTL policy on the field the store writes', () => {
    expect(resource('google_firestore_database', 'state')['type']).toBe('FIRESTORE_NATIVE');
    const ttl = resource('google_firestore_field', 'state_ttl');
    expect(ttl).toMatchObject({ database: '${google_firestore_database.state.name}', collection: '${local.state_collection}', field: '${local.ttl_field}', ttl_config: [{}] });
    expect(local('ttl_field')).toBe(FIRESTORE_TTL_FIELD);
    expect(local('state_collection')).toBe(FIRESTORE_DEFAULT_COLLECTION);
  });
});

/** Evaluates a Cloud Audit Logs-style IAM condition of the two forms the module writes (== and startsWith, joined by ||). */
function conditionMatches(expression: string, name: string): boolean {
  return expression.split(' || ').some((term) => {
    const eq = /^resource\.name == "([^"]*)"$/.exec(term);
    if (eq !== null) return name === eq[1];
    const sw = /^resource\.name\.startsWith\("([^"]*)"\)$/.exec(term);
    if (sw !== null) return name.startsWith(sw[1]!);
    throw new Error(`unexpected condition term ${term}`);
  });
}

const tf = terraformPath();
const EXAMPLE_CONFIG = join(import.meta.dirname, '..', '..', 'infra', 'examples', 'credwatch-config.json');

/** The combinations docs/deploy.md documents, each evaluated by Terraform itself. */
const COMBINATIONS: Array<[string, Record<string, unknown>]> = [
  ['the minimal deploy (one project)', { project: 'acme-security' }],
  ['the documented example (two GKE projects)', { project: 'acme-security', gke_projects: ['acme-prod', 'acme-stage'] }],
  ['one cluster with a runtime sensor', { project: 'acme-security', gke_projects: ['acme-prod'], gke_cluster: 'gke-prod-1', runtime_sensor_containers: ['tracee'] }],
  ['a runtime sensor over every cluster', { project: 'acme-security', runtime_sensor_containers: ['tracee', 'falco'] }],
  ['tuning, rules, e-mail and Data Access logs', {
    project: 'acme-security', gke_projects: ['acme-prod'], config_file: EXAMPLE_CONFIG, rules: ['secret-sweep', 'csr-approved-by-non-system'], alert_email: 'secops@example.com',
    alert_min_severity: 'high', enable_gke_data_access_logs: true, create_example_subscription: false,
  }],
  ['a 30-minute schedule', { project: 'acme-security', schedule: '*/30 * * * *', lookback_minutes: 31, function_timeout_seconds: 840 }],
  ['an hourly cron with its period given', { project: 'acme-security', schedule: '0 * * * *', run_period_minutes: 60 }],
];

describe.skipIf(tf === undefined)(`GCP Terraform module evaluated by Terraform${tf === undefined ? ' (SKIPPED: terraform is not on PATH)' : ''}`, () => {
  let stub: StubModule;
  beforeAll(async () => {
    stub = await stubModule(MODULE);
  }, 60_000);

  it('is formatted (terraform fmt -check)', () => {
    const r = spawnSync('terraform', ['fmt', '-check', '-diff', MODULE], { encoding: 'utf8', env: terraformEnv() });
    expect(r.stdout + r.stderr.replace(/.*CLI configuration[\s\S]*?╵\n?/g, '')).toBe('');
    expect(r.status).toBe(0);
  });

  it.each(COMBINATIONS)('evaluates every variable, local, argument and output: %s', (_name, vars) => {
    const r = evaluate(stub, vars);
    expect(r.stderr.includes('Error') ? r.stderr : '').toBe('');
    expect(r.ok).toBe(true);
    const { locals, resources, variables } = r.value!;
    expect(Object.keys(variables).sort()).toEqual(Object.keys(hcl.variable).sort());
    const env = locals['environment'] as Record<string, string>;
    // What the function reads, parsed by the function's own schema.
    const sources = SourceSpecSchema.array().parse(JSON.parse(env[ENV.sources]!));
    const projects = (vars['gke_projects'] as string[] | undefined) ?? [vars['project']];
    expect(sources[0]).toEqual({ cloud: 'gke', projects, ...(vars['gke_cluster'] === undefined ? {} : { cluster: vars['gke_cluster'] }) });
    const containers = vars['runtime_sensor_containers'] as string[] | undefined;
    expect(sources.length).toBe(containers === undefined ? 1 : 2);
    if (containers !== undefined) expect(sources[1]).toMatchObject({ cloud: 'gke-runtime', containers });
    const known = new Set<string>(Object.values(ENV));
    for (const name of Object.keys(env)) expect(known, name).toContain(name);
    expect(env[ENV.firestoreCollection]).toBe(FIRESTORE_DEFAULT_COLLECTION);
    if (vars['config_file'] !== undefined) {
      const detection = JSON.parse(env[ENV.config]!) as unknown;
      expect(detection).toEqual(JSON.parse(readFileSync(EXAMPLE_CONFIG, 'utf8')));
      // The deployed config must be one the function accepts.
      expect(() => resolveDetectionConfig(detection, RULES, ENV.config)).not.toThrow();
    } else {
      expect(env[ENV.config]).toBeUndefined();
    }
    if (vars['rules'] !== undefined) expect(env[ENV.rules]).toBe((vars['rules'] as string[]).join(','));

    // Firestore grant: exactly the credwatch database, never one whose name merely starts the same.
    const state = resources['google_project_iam_member.state'] as { condition: Array<{ expression: string }> };
    const expression = state.condition[0]!.expression;
    const db = `projects/${String(vars['project'])}/databases/credwatch`;
    expect(conditionMatches(expression, db)).toBe(true);
    expect(conditionMatches(expression, `${db}/documents/credwatch/checkpoint`)).toBe(true);
    expect(conditionMatches(expression, `${db}2`)).toBe(false);
    expect(conditionMatches(expression, `${db}2/documents/x`)).toBe(false);

    const privateLogs = resources['google_project_iam_member.private_logs_viewer'] as Record<string, { project: string; role: string }>;
    expect(Object.values(privateLogs).map((g) => g.project).sort()).toEqual([...projects].sort());
    const audit = resources['google_project_iam_audit_config.gke_data_access'] as Record<string, unknown>;
    expect(Object.keys(audit).length).toBe(vars['enable_gke_data_access_logs'] === true ? projects.length : 0);

    // Self-monitoring: the alerts watch the function's own log lines and notify the e-mail channel when given.
    const metrics = resources['google_logging_metric.function_lines'] as Record<string, { name: string; filter: string }>;
    expect(Object.values(metrics).map((m) => m.name).sort()).toEqual(['credwatch/runs_finished', 'credwatch/sources_failed']);
    const failed = metrics['sources_failed']!;
    expect(failed.filter).toContain('resource.labels.service_name="credwatch-scan"');
    expect(failed.filter).toContain('"source scan failed"');
    const missed = resources['google_monitoring_alert_policy.missed_runs'] as { conditions: Array<{ condition_absent: Array<{ duration: string }> }>; notification_channels: string[] };
    const period = Number(vars['run_period_minutes'] ?? /^\*\/(\d+) /.exec(String(vars['schedule'] ?? '*/5 * * * *'))?.[1]);
    expect(missed.conditions[0]!.condition_absent[0]!.duration).toBe(`${Math.max(120, period * 120 + 60)}s`);
    expect(missed.notification_channels.length).toBe(vars['alert_email'] === undefined ? 0 : 1);
    const channels = resources['google_monitoring_notification_channel.email'] as Record<string, { labels: { email_address: string } }>;
    expect(Object.values(channels).map((c) => c.labels.email_address)).toEqual(vars['alert_email'] === undefined ? [] : [vars['alert_email']]);
    const subscriptions = resources['google_pubsub_subscription.example'] as Record<string, { topic: string }>;
    expect(Object.keys(subscriptions).length).toBe(vars['create_example_subscription'] === false ? 0 : 1);

    const fn = resources['google_cloudfunctions2_function.scanner'] as { build_config: Array<{ service_account: string }>; service_config: Array<{ timeout_seconds: number }> };
    expect(fn.build_config[0]!.service_account).toBe(`projects/${String(vars['project'])}/serviceAccounts/credwatch-build@${String(vars['project'])}.iam.gserviceaccount.com`);
    const job = resources['google_cloud_scheduler_job.scan'] as { attempt_deadline: string };
    expect(job.attempt_deadline).toBe(`${fn.service_config[0]!.timeout_seconds + 60}s`);
  }, 60_000);

  it('moves an existing deployment to the for_each addresses (moved.tf): nothing is created, changed or destroyed', () => {
    const vars = { project: 'acme-security', gke_projects: ['acme-prod', 'acme-stage'], alert_email: 'secops@example.com', enable_gke_data_access_logs: true };
    const dir = deploy(stub, vars);
    try {
      // The state of a deployment made before the moves: each object at its earlier address.
      for (const { from, to } of stub.moves) stateMove(dir, to, from);
      const changes = planChanges(dir, vars);
      expect(changes.filter((c) => c.actions.join() !== 'no-op')).toEqual([]);
      const byAddress = (a: { to: string }, b: { to: string }) => a.to.localeCompare(b.to);
      const moved = changes.flatMap((c) => (c.previousAddress === undefined ? [] : [{ from: c.previousAddress, to: c.address }]));
      expect(moved.sort(byAddress)).toEqual([...stub.moves].sort(byAddress));
      expect(stub.moves.map((m) => m.to).sort()).toEqual([
        'google_logging_metric.function_lines["runs_finished"]', 'google_logging_metric.function_lines["sources_failed"]',
        'google_service_account.accounts["build"]', 'google_service_account.accounts["invoker"]', 'google_service_account.accounts["runtime"]',
      ]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);

  /** Each refused at plan, naming what is wrong. */
  const INVALID: Array<[string, Record<string, unknown>, RegExp]> = [
    ['a project ID with capitals', { project: 'Acme_Security' }, /project must be a Google Cloud project ID/],
    ['a zone as region', { project: 'acme-security', region: 'us-central1-a' }, /region must be a Google Cloud region/],
    ['a bad GKE project', { project: 'acme-security', gke_projects: ['acme prod'] }, /gke_projects must list/],
    ['a bad cluster name', { project: 'acme-security', gke_cluster: 'Prod_1' }, /gke_cluster must be a GKE cluster name/],
    ['a schedule that is not cron', { project: 'acme-security', schedule: 'every 5 minutes' }, /schedule must be a five-field unix-cron/],
    ['a severity that does not exist', { project: 'acme-security', alert_min_severity: 'urgent' }, /alert_min_severity must be one of/],
    ['a lookback of 0', { project: 'acme-security', lookback_minutes: 0 }, /lookback_minutes must be/],
    ['a timeout the scheduler cannot wait for', { project: 'acme-security', function_timeout_seconds: 3600 }, /function_timeout_seconds must be a whole number from 60 to 840/],
    ['a config file that is not JSON', { project: 'acme-security', config_file: join(MODULE, 'main.tf') }, /config_file must be the path of a readable JSON file/],
    ['a database ID too short', { project: 'acme-security', firestore_database: 'cw' }, /firestore_database must be a database ID/],
    ['an e-mail without a domain', { project: 'acme-security', alert_email: 'secops' }, /alert_email must be an e-mail address/],
    ['a cron schedule with no period', { project: 'acme-security', schedule: '0 * * * *' }, /run_period_minutes: the schedule is not of the form/],
    ['a timeout longer than the period', { project: 'acme-security', schedule: '*/2 * * * *', function_timeout_seconds: 240 }, /function_timeout_seconds: a run must end before the next is due/],
  ];
  it.each(INVALID)('refuses %s, naming the variable', (_name, vars, message) => {
    const r = evaluate(stub, vars);
    expect(r.ok).toBe(false);
    expect(r.stderr.replace(/\s*│\s*/g, ' ').replace(/\s+/g, ' ')).toMatch(message);
  }, 60_000);
});

/** Loads the package like the runtime, then calls the registered function through the framework's test helper. */
const PROBE = `
const { getFunction } = require('@google-cloud/functions-framework/testing');
require('./index.js');
const fn = getFunction('credwatchScan');
let status = 0;
const res = { status(s) { status = s; return res; }, set() { return res; }, json(b) { done(JSON.stringify(b)); }, send(b) { done(String(b)); }, end(b) { done(String(b ?? '')); } };
function done(body) { process.send({ registered: typeof fn === 'function', status, body }, () => process.exit(0)); }
Promise.resolve(fn({ method: 'POST', headers: {}, body: {}, get: () => undefined, header: () => undefined }, res)).catch((e) => done('threw: ' + e));
`;

describe('GCP function package', () => {
  it('bundles our code, pins every npm import, and registers credwatchScan with the Functions Framework', async () => {
    // Inside the repository so the externals resolve from its node_modules, as Cloud Build's npm install would provide them.
    mkdirSync(join(import.meta.dirname, '..', '..', 'dist'), { recursive: true });
    const out = mkdtempSync(join(import.meta.dirname, '..', '..', 'dist', '.gcp-function-test-'));
    try {
      const { dependencies } = await packageGcpFunction(out);
      const manifest = JSON.parse(readFileSync(join(out, 'package.json'), 'utf8')) as { main: string; engines: { node: string }; dependencies: Record<string, string> };
      expect(manifest.main).toBe('index.js');
      expect(manifest.engines.node).toBe('22');
      expect(manifest.dependencies).toEqual(dependencies);
      const root = JSON.parse(readFileSync(join(import.meta.dirname, '..', '..', 'package.json'), 'utf8')) as { dependencies: Record<string, string> };
      expect(manifest.dependencies['@google-cloud/functions-framework']).toMatch(/^\d+\.\d+\.\d+$/);
      for (const name of Object.keys(manifest.dependencies)) expect(Object.keys(root.dependencies)).toContain(name);
      const bundle = readFileSync(join(out, 'index.js'), 'utf8');
      const required = new Set([...bundle.matchAll(/require\("([^".][^"]*)"\)/g)].map((m) => m[1]!).filter((s) => !s.startsWith('node:')));
      for (const spec of required) {
        const pkg = spec.startsWith('@') ? spec.split('/').slice(0, 2).join('/') : spec.split('/')[0]!;
        if (!builtinModules.includes(pkg)) expect(Object.keys(manifest.dependencies)).toContain(pkg);
      }
      writeFileSync(join(out, 'probe.cjs'), PROBE);
      // Load it as the runtime does and call the registered function without configuration: a 500 naming the variable.
      const reply = await new Promise<{ registered: boolean; status: number; body: string }>((resolve, reject) => {
        const child = fork(join(out, 'probe.cjs'), [], { stdio: ['ignore', 'ignore', 'pipe', 'ipc'], env: { PATH: process.env['PATH'] ?? '', METADATA_SERVER_DETECTION: 'none' } });
        let stderr = '';
        child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
        child.on('message', (m) => resolve(m as { registered: boolean; status: number; body: string }));
        child.on('exit', (code) => reject(new Error(`probe exited (${code}): ${stderr}`)));
      });
      expect(reply).toMatchObject({ registered: true, status: 500 });
      expect((reply as { body: string }).body).toContain(ENV.sources);
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  });

  it('ships a lock cut from the repository\'s: npm ci installs it offline, with no AWS or Azure package, and the function runs', async (ctx) => {
    // Outside the repository: only what the package's own lock installs can be resolved.
    const out = join(mkdtempSync(join(tmpdir(), 'credwatch-gcp-fn-')), 'fn');
    try {
      const { dependencies } = await packageGcpFunction(out);
      expect(Object.keys(dependencies).filter((d) => /^@aws-sdk\/|^@azure\/|^@smithy\//.test(d))).toEqual([]);
      expect(dependencies['@google-cloud/logging']).toBeDefined();
      const lock = JSON.parse(readFileSync(join(out, 'package-lock.json'), 'utf8')) as { packages: Record<string, { version?: string; dependencies?: Record<string, string> }> };
      const paths = Object.keys(lock.packages).filter((p) => p !== '');
      expect(paths.filter((p) => /node_modules\/(@aws-sdk|@azure|@smithy)\//.test(p))).toEqual([]);
      for (const [name, version] of Object.entries(dependencies)) expect(lock.packages[`node_modules/${name}`]?.version, name).toBe(version);
      const ci = spawnSync('npm', ['ci', '--offline', '--ignore-scripts', '--no-audit', '--no-fund'], { cwd: out, encoding: 'utf8', timeout: 240_000 });
      // eslint-disable-next-line vitest/no-disabled-tests -- a visible skip with its reason when the machine's npm cache cannot serve the lock.
      if (ci.status !== 0 && /ENOTCACHED/.test(ci.stderr)) ctx.skip(`npm's cache lacks a package of the lock and the registry is not used here: ${ci.stderr.split('\n')[0]}`);
      expect(ci.status, ci.stderr).toBe(0);
      expect(readdirSync(join(out, 'node_modules')).filter((d) => d === '@aws-sdk' || d === '@azure')).toEqual([]);
      writeFileSync(join(out, 'probe.cjs'), PROBE);
      const reply = await new Promise<{ registered: boolean; status: number; body: string }>((resolve, reject) => {
        const child = fork(join(out, 'probe.cjs'), [], { cwd: out, stdio: ['ignore', 'ignore', 'pipe', 'ipc'], env: { PATH: process.env['PATH'] ?? '', METADATA_SERVER_DETECTION: 'none' } });
        let stderr = '';
        child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
        child.on('message', (m) => resolve(m as { registered: boolean; status: number; body: string }));
        child.on('exit', (code) => reject(new Error(`probe exited (${code}): ${stderr}`)));
      });
      expect(reply).toMatchObject({ registered: true, status: 500 });
    } finally {
      rmSync(dirname(out), { recursive: true, force: true });
    }
  }, 300_000);
});
