import { parse } from '@cdktn/hcl2json';
import { execFileSync, spawnSync } from 'node:child_process';
import { copyFileSync, cpSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * Terraform evaluation of a module whose providers cannot be installed here (the google
 * provider): a copy of the module where every provider resource and data source becomes a
 * builtin `terraform_data` whose `input` is the resource's own arguments (same expressions,
 * same for_each, same depends_on and preconditions) plus stand-ins for the attributes the
 * provider computes. Terraform itself then type-checks and evaluates every variable (with its
 * validation blocks), local, argument and output, with `terraform console -plan`.
 */

type Json = Record<string, unknown>;
/** hcl2json's shape: every block is a list of bodies. */
interface Doc {
  resource?: Record<string, Record<string, Json[]>>;
  data?: Record<string, Record<string, Json[]>>;
  locals?: Json[];
  output?: Record<string, Json[]>;
  variable?: Record<string, Json[]>;
  moved?: Array<{ from: string; to: string }>;
}

export function terraformPath(): string | undefined {
  const r = spawnSync('terraform', ['version'], { encoding: 'utf8' });
  return r.status === 0 ? 'terraform' : undefined;
}

const REF = /\b(data\.)?((?:google|archive)_[a-z0-9_]+)\.([a-z0-9_]+)\b/g;
const stubName = (data: boolean, type: string, name: string) => `${data ? 'data_' : ''}${type}__${name}`;

/** `google_x.n…` → `local.google_x__n…` (the stub's input, plus computed attributes). */
function rewrite(value: unknown): unknown {
  if (typeof value === 'string') return value.replace(REF, (_m, d: string | undefined, type: string, name: string) => `local.${stubName(d !== undefined, type, name)}`);
  if (Array.isArray(value)) return value.map(rewrite);
  if (value !== null && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, rewrite(v)]));
  return value;
}

/** What the provider would compute, as Terraform template text built from the resource's own arguments. */
function computed(type: string, body: Json): Json {
  const s = (k: string) => String(body[k] ?? '');
  switch (type) {
    case 'google_project':
      return { number: '123456789012', project_id: s('project_id') };
    case 'google_service_account': {
      const email = `${s('account_id')}@${s('project')}.iam.gserviceaccount.com`;
      return { email, name: `projects/${s('project')}/serviceAccounts/${email}`, id: `projects/${s('project')}/serviceAccounts/${email}` };
    }
    case 'google_pubsub_topic':
      return { id: `projects/${s('project')}/topics/${s('name')}` };
    case 'google_monitoring_notification_channel':
      return { id: `projects/${s('project')}/notificationChannels/1234567890`, name: `projects/${s('project')}/notificationChannels/1234567890` };
    case 'archive_file':
      return { output_md5: '0123456789abcdef0123456789abcdef' };
    default:
      return { id: `stub/${type}` };
  }
}

function stubResource(type: string, body: Json): { resource: Json; local: string } {
  const { for_each, count, depends_on, lifecycle, provider: _provider, ...args } = body;
  const input: Json = { ...computed(type, args), ...args };
  if (type === 'google_cloudfunctions2_function') {
    const svc = (input['service_config'] as Json[] | undefined)?.[0] ?? {};
    input['service_config'] = [{ ...svc, uri: 'https://credwatch-scan-abc123-uc.a.run.app', service: String(input['name'] ?? '') }];
  }
  const resource: Json = { input: rewrite(input) };
  if (for_each !== undefined) resource['for_each'] = rewrite(for_each);
  if (count !== undefined) resource['count'] = rewrite(count);
  if (depends_on !== undefined) {
    resource['depends_on'] = (depends_on as string[]).map((d) =>
      d.replace(/^\$\{(.*)\}$/, '$1').replace(REF, (_m, dd: string | undefined, t: string, n: string) => `terraform_data.${stubName(dd !== undefined, t, n)}`),
    );
  }
  if (lifecycle !== undefined) resource['lifecycle'] = rewrite(lifecycle);
  const name = '__NAME__';
  const local = for_each !== undefined
    ? `\${{ for k, v in terraform_data.${name} : k => v.input }}`
    : count !== undefined
      ? `\${[for v in terraform_data.${name} : v.input]}`
      : `\${terraform_data.${name}.input}`;
  return { resource, local };
}

export interface StubModule {
  dir: string;
  variables: string[];
  locals: string[];
  resources: string[];
  outputs: string[];
  /** The module's `moved` blocks, as module addresses (`google_x.a` → `google_x.b["k"]`). */
  moves: Array<{ from: string; to: string }>;
}

/** Writes the stub copy of `moduleDir` and runs `terraform init` (builtin provider only: offline). */
export async function stubModule(moduleDir: string): Promise<StubModule> {
  const dir = mkdtempSync(join(tmpdir(), 'credwatch-tf-'));
  const out = { resource: { terraform_data: {} as Json }, locals: {} as Json, moved: [] as Array<{ from: string; to: string }> };
  const variables: string[] = [];
  const locals: string[] = [];
  const resources: string[] = [];
  const outputs: string[] = [];
  const moves: Array<{ from: string; to: string }> = [];
  for (const file of readdirSync(moduleDir).filter((f) => f.endsWith('.tf')).sort()) {
    const text = readFileSync(join(moduleDir, file), 'utf8');
    const doc = (await parse(file, text)) as Doc;
    if (doc.variable !== undefined) {
      // Variables stay HCL, validation blocks and all; a variables file holds nothing else here.
      const others = Object.keys(doc).filter((k) => k !== 'variable');
      if (others.length > 0) throw new Error(`${file}: keep variables in a file of their own (found ${others.join(', ')})`);
      copyFileSync(join(moduleDir, file), join(dir, file));
      variables.push(...Object.keys(doc.variable));
    }
    for (const [kind, byType] of [['resource', doc.resource], ['data', doc.data]] as const) {
      for (const [type, byName] of Object.entries(byType ?? {})) {
        for (const [name, [body]] of Object.entries(byName)) {
          const isData = kind === 'data';
          const id = stubName(isData, type, name);
          const { resource, local } = stubResource(type, body!);
          out.resource.terraform_data[id] = resource;
          out.locals[id] = local.replace('__NAME__', id);
          resources.push(`${isData ? 'data.' : ''}${type}.${name}`);
        }
      }
    }
    for (const block of doc.locals ?? []) {
      for (const [k, v] of Object.entries(block)) {
        out.locals[k] = rewrite(v);
        locals.push(k);
      }
    }
    for (const [name, [body]] of Object.entries(doc.output ?? {})) {
      out.locals[`output__${name}`] = rewrite(body!['value']);
      outputs.push(name);
    }
    for (const move of doc.moved ?? []) {
      const [from, to] = [move.from, move.to].map((a) => a.replace(/^\$\{(.*)\}$/, '$1'));
      moves.push({ from: from!, to: to! });
      // The same move between the stubs, so Terraform checks each block against the configuration.
      out.moved.push({ from: stubAddress(from!), to: stubAddress(to!) });
    }
  }
  const { moved, ...rest } = out;
  writeFileSync(join(dir, 'stub.tf.json'), JSON.stringify(moved.length > 0 ? out : rest, null, 1));
  execFileSync('terraform', ['init', '-input=false', '-backend=false'], { cwd: dir, stdio: 'pipe', env: terraformEnv() });
  return { dir, variables, locals, resources, outputs, moves };
}

/** `google_x.b["k"]` → `terraform_data.google_x__b["k"]`. */
function stubAddress(address: string): string {
  const m = /^(data\.)?([a-z0-9_]+)\.([a-z0-9_]+)(\[.*\])?$/.exec(address);
  if (m === null) throw new Error(`unexpected address ${address}`);
  return `terraform_data.${stubName(m[1] !== undefined, m[2]!, m[3]!)}${m[4] ?? ''}`;
}

/** `terraform_data.google_x__b["k"]` → `google_x.b["k"]`. */
export function moduleAddress(stubAddr: string): string {
  const m = /^terraform_data\.(data_)?([a-z0-9_]+?)__([a-z0-9_]+)(\[.*\])?$/.exec(stubAddr);
  if (m === null) throw new Error(`unexpected stub address ${stubAddr}`);
  return `${m[1] === undefined ? '' : 'data.'}${m[2]!}.${m[3]!}${m[4] ?? ''}`;
}

/**
 * A deployment of the stub with `vars`, in a copy of its folder: `terraform apply` (terraform_data
 * only, so offline), with its state in that folder. Returns the folder.
 */
export function deploy(stub: StubModule, vars: Json): string {
  const dir = mkdtempSync(join(tmpdir(), 'credwatch-tf-state-'));
  cpSync(stub.dir, dir, { recursive: true });
  const varFile = writeVars(dir, vars);
  execFileSync('terraform', ['apply', '-auto-approve', '-input=false', `-var-file=${varFile}`], { cwd: dir, stdio: 'pipe', env: terraformEnv() });
  return dir;
}

/** `terraform state mv` of module addresses in a deployment's state. */
export function stateMove(dir: string, from: string, to: string): void {
  execFileSync('terraform', ['state', 'mv', stubAddress(from), stubAddress(to)], { cwd: dir, stdio: 'pipe', env: terraformEnv() });
}

export interface PlannedChange {
  address: string;
  previousAddress?: string;
  actions: string[];
}

/** What `terraform plan` would do to a deployment, per resource instance, as module addresses. */
export function planChanges(dir: string, vars: Json): PlannedChange[] {
  const varFile = writeVars(dir, vars);
  execFileSync('terraform', ['plan', '-input=false', '-out=plan.bin', `-var-file=${varFile}`], { cwd: dir, stdio: 'pipe', env: terraformEnv() });
  const plan = JSON.parse(execFileSync('terraform', ['show', '-json', 'plan.bin'], { cwd: dir, encoding: 'utf8', env: terraformEnv(), maxBuffer: 64 * 1024 * 1024 })) as {
    resource_changes?: Array<{ address: string; previous_address?: string; change: { actions: string[] } }>;
  };
  return (plan.resource_changes ?? []).map((c) => ({
    address: moduleAddress(c.address),
    ...(c.previous_address === undefined ? {} : { previousAddress: moduleAddress(c.previous_address) }),
    actions: c.change.actions,
  }));
}

function writeVars(dir: string, vars: Json): string {
  const varFile = join(dir, `vars-${Math.random().toString(36).slice(2)}.tfvars.json`);
  writeFileSync(varFile, JSON.stringify(vars));
  return varFile;
}

/** No CLI config file, no checkpoint call home, no plugin cache lookups elsewhere. */
export function terraformEnv(): NodeJS.ProcessEnv {
  return { ...process.env, CHECKPOINT_DISABLE: '1', TF_IN_AUTOMATION: '1', TF_INPUT: '0', TF_CLI_CONFIG_FILE: '/dev/null' };
}

export interface Evaluation {
  ok: boolean;
  stderr: string;
  value?: { variables: Json; locals: Json; resources: Json; outputs: Json };
}

/** `terraform console -plan` with the given variables: every variable, local, resource argument and output at once. */
export function evaluate(stub: StubModule, vars: Json): Evaluation {
  const varFile = writeVars(stub.dir, vars);
  const obj = (entries: string[]) => `{ ${entries.join(', ')} }`;
  const expr = `jsonencode(${obj([
    `variables = ${obj(stub.variables.map((v) => `${v} = var.${v}`))}`,
    `locals = ${obj(stub.locals.map((l) => `${l} = local.${l}`))}`,
    `resources = ${obj(stub.resources.map((r) => `"${r}" = local.${stubName(r.startsWith('data.'), ...(r.replace(/^data\./, '').split('.') as [string, string]))}`))}`,
    `outputs = ${obj(stub.outputs.map((o) => `${o} = local.output__${o}`))}`,
  ])})`;
  const r = spawnSync('terraform', ['console', '-plan', `-var-file=${varFile}`], { cwd: stub.dir, input: `${expr}\n`, encoding: 'utf8', env: terraformEnv() });
  if (r.status !== 0) return { ok: false, stderr: r.stderr };
  const line = r.stdout.trim();
  // The console prints the string in HCL syntax: JSON escapes, with template sequences doubled.
  const text = JSON.parse(line.replaceAll('$${', '${').replaceAll('%%{', '%{')) as string;
  return { ok: true, stderr: r.stderr, value: JSON.parse(text) };
}
