import { parse } from '@cdktn/hcl2json';
import { fork } from 'node:child_process';
import { builtinModules } from 'node:module';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { FIRESTORE_DEFAULT_COLLECTION, FIRESTORE_TTL_FIELD } from '../../core/state/firestore-store.js';
import { ENV, SourceSpecSchema } from '../../functions/shared/runtime-config.js';
import { GCP_ENTRY_POINT, packageGcpFunction } from '../../scripts/package-gcp-function.js';

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
      service_account_email: '${google_service_account.runtime.email}',
      environment_variables: '${local.environment}',
    });
  });

  it('sets exactly the environment variables the Cloud Function reads', () => {
    const env = local('environment') as string;
    const names = [...new Set([...env.matchAll(/^\s*(\w+)\s*=/gm), ...env.matchAll(/\{\s*(\w+)\s*=/g)].map((m) => m[1]))].sort();
    expect(names).toEqual([
      ENV.alertMinSeverity, ENV.firestoreCollection, ENV.firestoreDatabase, ENV.lookbackMinutes, ENV.pubsubTopic, ENV.sources, ENV.gcpProject,
    ].sort());
    expect(env).toContain(`${ENV.sources}              = jsonencode(local.sources)`);
    expect(local('gke_source')).toBe('${var.gke_cluster == null ? { cloud = "gke", projects = local.gke_projects } : { cloud = "gke", projects = local.gke_projects, cluster = var.gke_cluster }}');
    expect(local('gke_runtime_source')).toBe('${merge(local.gke_source, { cloud = "gke-runtime", containers = var.runtime_sensor_containers })}');
    expect(local('sources')).toBe('${length(var.runtime_sensor_containers) == 0 ? [local.gke_source] : [local.gke_source, local.gke_runtime_source]}');
    expect(hcl.variable['runtime_sensor_containers']?.[0]?.['default']).toEqual([]);
    // What those expressions evaluate to must be what the function accepts.
    const audit = { cloud: 'gke', projects: ['acme-prod'], cluster: 'gke-prod-1' };
    expect(() => SourceSpecSchema.array().parse([audit, { ...audit, cloud: 'gke-runtime', containers: ['tracee'] }])).not.toThrow();
    expect(local('state_collection')).toBe(FIRESTORE_DEFAULT_COLLECTION);
  });

  it('calls the function every 5 minutes with an OIDC token of the invoker account, with a deadline above the timeout', () => {
    const job = resource('google_cloud_scheduler_job', 'scan');
    expect(hcl.variable['schedule']?.[0]?.['default']).toBe('*/5 * * * *');
    expect(job['schedule']).toBe('${var.schedule}');
    expect(job['attempt_deadline']).toBe('${var.function_timeout_seconds + 60}s');
    expect(hcl.variable['function_timeout_seconds']?.[0]?.['default']).toBe(240);
    expect(block(job, 'retry_config')).toEqual({ retry_count: 0 });
    const target = block(job, 'http_target');
    expect(target['uri']).toBe('${google_cloudfunctions2_function.scanner.service_config[0].uri}');
    expect(block(target, 'oidc_token')).toEqual({
      service_account_email: '${google_service_account.invoker.email}',
      audience: '${google_cloudfunctions2_function.scanner.service_config[0].uri}',
    });
    expect(resource('google_cloud_run_service_iam_member', 'invoker')).toMatchObject({
      service: '${google_cloudfunctions2_function.scanner.service_config[0].service}',
      role: 'roles/run.invoker',
      member: 'serviceAccount:${google_service_account.invoker.email}',
    });
  });

  it('grants the runtime account only log reading on the scanned projects, its database, and publishing to its topic', () => {
    const runtime = 'serviceAccount:${google_service_account.runtime.email}';
    const grants = Object.entries(hcl.resource)
      .filter(([type]) => type.endsWith('_iam_member'))
      .flatMap(([type, byName]) => Object.values(byName).map((b): Block => ({ type, ...b[0]! })))
      .filter((g) => g['member'] === runtime)
      .map((g) => `${String(g['type'])} ${String(g['role'])} ${String(g['topic'] ?? g['project'])}`);
    expect(grants.sort()).toEqual([
      'google_project_iam_member roles/datastore.user ${var.project}',
      'google_project_iam_member roles/logging.privateLogViewer ${each.value}',
      'google_project_iam_member roles/logging.viewer ${each.value}',
      'google_pubsub_topic_iam_member roles/pubsub.publisher ${google_pubsub_topic.alerts.name}',
    ]);
    expect(resource('google_project_iam_member', 'logs_viewer')['for_each']).toBe('${toset(local.gke_projects)}');
    expect(resource('google_project_iam_member', 'private_logs_viewer')['for_each']).toBe('${toset(local.gke_projects)}');
    expect(block(resource('google_project_iam_member', 'state'), 'condition')['expression'])
      .toBe('resource.name.startsWith("projects/${var.project}/databases/${google_firestore_database.state.name}")');
  });

  it('creates the topic and a Firestore database with a TTL policy on the field the store writes', () => {
    expect(resource('google_pubsub_topic', 'alerts')['name']).toBe('${var.alert_topic}');
    expect(resource('google_firestore_database', 'state')['type']).toBe('FIRESTORE_NATIVE');
    const ttl = resource('google_firestore_field', 'state_ttl');
    expect(ttl).toMatchObject({ database: '${google_firestore_database.state.name}', collection: '${local.state_collection}', field: '${local.ttl_field}', ttl_config: [{}] });
    expect(local('ttl_field')).toBe(FIRESTORE_TTL_FIELD);
  });

  it('can turn on GKE Data Access logs (all three types) in the scanned projects, off by default', () => {
    const audit = resource('google_project_iam_audit_config', 'gke_data_access');
    expect(audit['for_each']).toBe('${var.enable_gke_data_access_logs ? toset(local.gke_projects) : toset([])}');
    expect(audit['service']).toBe('container.googleapis.com');
    expect((audit['audit_log_config'] as Block[]).map((c) => c['log_type'])).toEqual(['ADMIN_READ', 'DATA_READ', 'DATA_WRITE']);
    expect(hcl.variable['enable_gke_data_access_logs']?.[0]?.['default']).toBe(false);
  });

  it('outputs the function URI and the alert topic', () => {
    expect(Object.keys(hcl.output).sort()).toEqual(['alert_topic', 'firestore_database', 'function_uri', 'invoker_service_account', 'runtime_service_account', 'scheduler_job']);
  });
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
});
