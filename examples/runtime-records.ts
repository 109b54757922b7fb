import { createHash } from 'node:crypto';

/**
 * Raw runtime sensor records for rule examples and tests: one process action rendered as Tracee's
 * JSON event (current and next format), Falco's JSON alert (with the flags, or as a stock rule prints
 * it), or an Elastic Defend for Containers document, and a line as each log service stores a sensor
 * container's stdout (CloudWatch via Fluent Bit, Cloud Logging, ContainerLogV2). The shapes follow
 * the sensors' documented output (adapters/sensors/tracee.ts, falco.ts).
 */

export interface RuntimeInit {
  /** RFC 3339; defaults to 2026-03-02T09:00:05.000000Z (five seconds after the audit examples' default). */
  time?: string;
  comm: string;
  exe?: string;
  argv?: string[];
  pid?: number;
  uid?: number;
  user?: string;
  tty?: boolean;
  parent?: string;
  /** null: a process on the host. */
  container?: { id: string; name: string; image: string } | null;
  pod?: string;
  namespace?: string;
  node?: string;
}

export const DEFAULT_RUNTIME_TIME = '2026-03-02T09:00:05.000000Z';
export const WEB_CONTAINER = Object.freeze({ id: '3f2a9c1b7d4e', name: 'web', image: 'ghcr.io/example/web:1.4.2' });
const NODE = 'ip-10-0-1-7.ec2.internal';

function ns(rfc3339: string): number {
  return Date.parse(rfc3339) * 1e6;
}

function where(i: RuntimeInit) {
  const c = i.container === undefined ? WEB_CONTAINER : i.container;
  return { c, pod: i.container === null ? '' : (i.pod ?? 'web-7d4b9c-x2x4p'), namespace: i.container === null ? '' : (i.namespace ?? 'default') };
}

function tracee(i: RuntimeInit, eventName: string, args: Array<{ name: string; type: string; value: unknown }>): Record<string, unknown> {
  const { c, pod, namespace } = where(i);
  return {
    timestamp: ns(i.time ?? DEFAULT_RUNTIME_TIME),
    threadStartTime: ns(i.time ?? DEFAULT_RUNTIME_TIME) - 4_000_000,
    processorId: 1,
    processId: i.pid ?? 41,
    cgroupId: 8124,
    threadId: i.pid ?? 41,
    parentProcessId: 7,
    hostProcessId: 918_273,
    hostThreadId: 918_273,
    hostParentProcessId: 918_201,
    userId: i.uid ?? 0,
    mountNamespace: 4_026_532_801,
    pidNamespace: 4_026_532_804,
    processName: i.comm,
    executable: { path: i.exe ?? `/usr/bin/${i.comm}` },
    hostName: i.node ?? NODE,
    containerId: c?.id ?? '',
    container: c === null ? {} : { id: c.id, name: c.name, image: c.image },
    kubernetes: c === null ? {} : { podName: pod, podNamespace: namespace, podUID: 'c0ffee00-1111-4222-8333-444455556666' },
    eventId: eventName === 'security_file_open' ? '730' : eventName === 'security_inode_rename' ? '735' : '715',
    eventName,
    matchedPolicies: ['credwatch-k8s-credentials'],
    argsNum: args.length,
    returnValue: 0,
    syscall: eventName === 'sched_process_exec' ? 'execve' : eventName === 'security_inode_rename' ? 'rename' : 'openat',
    args,
  };
}

/** Tracee's device and inode arguments of a file on the node's root disk. */
const fileOnDisk = (inode: number) => [
  { name: 'dev', type: 'dev_t', value: 66_305 },
  { name: 'inode', type: 'unsigned long', value: inode },
];

export function traceeOpen(i: RuntimeInit, path: string, flags: number | string): Record<string, unknown> {
  return tracee(i, 'security_file_open', [
    { name: 'pathname', type: 'const char*', value: path },
    { name: 'flags', type: 'int', value: flags },
    ...fileOnDisk(1_048_601),
    { name: 'ctime', type: 'unsigned long', value: 1_772_441_000_000_000_000 },
    { name: 'syscall_pathname', type: 'const char*', value: path },
  ]);
}

export function traceeRename(i: RuntimeInit, from: string, to: string): Record<string, unknown> {
  return tracee(i, 'security_inode_rename', [
    { name: 'old_path', type: 'const char*', value: from },
    { name: 'new_path', type: 'const char*', value: to },
  ]);
}

export function traceeExec(i: RuntimeInit): Record<string, unknown> {
  const exe = i.exe ?? `/usr/bin/${i.comm}`;
  return tracee(i, 'sched_process_exec', [
    { name: 'cmdpath', type: 'const char*', value: exe },
    { name: 'pathname', type: 'const char*', value: exe },
    ...fileOnDisk(524_311),
    { name: 'invoked_from_kernel', type: 'int', value: 0 },
    { name: 'argv', type: 'const char**', value: i.argv ?? [i.comm] },
    { name: 'interpreter_pathname', type: 'const char*', value: '' },
    { name: 'stdin_type', type: 'string', value: i.tty === true ? 'S_IFCHR' : 'S_IFIFO' },
    { name: 'stdin_path', type: 'char*', value: i.tty === true ? '/dev/pts/0' : 'pipe:[91823]' },
  ]);
}

function falco(i: RuntimeInit, rule: string, output: string, fields: Record<string, unknown>): Record<string, unknown> {
  const { c, pod, namespace } = where(i);
  const time = i.time ?? DEFAULT_RUNTIME_TIME;
  const all: Record<string, unknown> = {
    'container.id': c?.id ?? 'host',
    'container.image.repository': c === null ? null : c.image.split(':')[0],
    'container.image.tag': c === null ? null : c.image.split(':')[1],
    'container.name': c?.name ?? 'host',
    'evt.time.iso8601': time,
    'k8s.ns.name': c === null ? null : namespace,
    'k8s.pod.name': c === null ? null : pod,
    'proc.cmdline': (i.argv ?? [i.comm]).join(' '),
    'proc.exepath': i.exe ?? `/usr/bin/${i.comm}`,
    'proc.name': i.comm,
    'proc.pid': i.pid ?? 41,
    'proc.pname': i.parent ?? (c === null ? 'systemd' : 'sh'),
    'proc.tty': i.tty === true ? 34_816 : 0,
    'user.name': i.user ?? 'root',
    'user.uid': i.uid ?? 0,
    ...fields,
  };
  const uuid = createHash('sha256').update(JSON.stringify([rule, all])).digest('hex');
  return {
    hostname: i.node ?? NODE,
    output: `${time.slice(11, 26)}: ${output} (user=${String(all['user.name'])} command=${String(all['proc.cmdline'])} container=${String(all['container.name'])})`,
    output_fields: all,
    priority: 'Warning',
    rule,
    source: 'syscall',
    tags: ['credwatch', 'T1552'],
    time,
    uuid: `${uuid.slice(0, 8)}-${uuid.slice(8, 12)}-4${uuid.slice(13, 16)}-8${uuid.slice(17, 20)}-${uuid.slice(20, 32)}`,
  };
}

export function falcoOpen(i: RuntimeInit, path: string, flags: string): Record<string, unknown> {
  return falco(i, 'credwatch: Kubernetes credential file opened', `Credential file opened ${path}`, {
    'evt.type': 'openat',
    'fd.name': path,
    'evt.arg.flags': flags,
    'evt.res': 'SUCCESS',
  });
}

export function falcoRename(i: RuntimeInit, from: string, to: string): Record<string, unknown> {
  return falco(i, 'credwatch: Kubernetes credential file renamed', `Credential file renamed ${from} -> ${to}`, {
    'evt.type': 'renameat2',
    'evt.arg.oldpath': from,
    'evt.arg.newpath': to,
    'evt.res': 'SUCCESS',
  });
}

export function falcoExec(i: RuntimeInit): Record<string, unknown> {
  return falco(i, 'credwatch: reader started on a Kubernetes credential path', 'Reader started', { 'evt.type': 'execve', 'evt.res': 'SUCCESS' });
}

/**
 * A Falco alert as the stock rules print it (falcosecurity/rules: `evt.type` and `fd.name`, no
 * flags), with the field set of the Elastic integration's real sample (test/fixtures/real).
 */
/** `result`: fields Falco adds about the syscall's result (`evt.res`, `evt.failed`), after the others. */
export function falcoStockOpen(i: RuntimeInit, path: string, rule = 'Read sensitive file untrusted', result: Record<string, unknown> = {}): Record<string, unknown> {
  const { c, pod, namespace } = where(i);
  const time = i.time ?? DEFAULT_RUNTIME_TIME;
  const fields: Record<string, unknown> = {
    'container.id': c?.id ?? 'host',
    'container.name': c?.name ?? 'host',
    'evt.time.iso8601': Date.parse(time) * 1e6,
    'evt.type': 'openat',
    'fd.name': path,
    ...(c === null ? {} : { 'k8s.ns.name': namespace, 'k8s.pod.name': pod }),
    'proc.cmdline': (i.argv ?? [i.comm]).join(' '),
    'proc.exepath': i.exe ?? `/usr/bin/${i.comm}`,
    'proc.name': i.comm,
    'proc.pname': i.parent ?? (c === null ? 'systemd' : 'sh'),
    'proc.tty': i.tty === true ? 34_816 : 0,
    'user.loginuid': -1,
    'user.name': i.user ?? 'root',
    'user.uid': i.uid ?? 0,
    ...result,
  };
  return {
    hostname: i.node ?? NODE,
    output: `${time.replace('Z', '+0000')}: Warning Sensitive file opened for reading by non-trusted program (file=${path} evt_type=openat user=${String(fields['user.name'])} process=${i.comm})`,
    priority: 'Warning',
    rule,
    source: 'syscall',
    tags: ['T1555', 'container', 'filesystem', 'host', 'maturity_stable', 'mitre_credential_access'],
    time,
    output_fields: fields,
  };
}

function traceeNext(i: RuntimeInit, name: string, data: Array<Record<string, unknown>>): Record<string, unknown> {
  const { c, pod, namespace } = where(i);
  const ms = Date.parse(i.time ?? DEFAULT_RUNTIME_TIME);
  return {
    timestamp: { seconds: String(Math.floor(ms / 1000)), nanos: (ms % 1000) * 1_000_000 },
    id: name,
    name,
    policies: { matched: ['credwatch-k8s-credentials'] },
    workload: {
      process: {
        thread: { name: i.comm, start_time: { seconds: String(Math.floor(ms / 1000) - 4) }, unique_id: 1_234_567_890, host_tid: 918_273, tid: i.pid ?? 41, syscall: name === 'sched_process_exec' ? 'execve' : 'openat' },
        pid: { value: i.pid ?? 41 },
        real_user: { id: { value: i.uid ?? 0 } },
        executable: { path: i.exe ?? `/usr/bin/${i.comm}` },
        ancestors: [{ unique_id: 987_654_321, host_pid: 918_201, pid: 7 }],
      },
      ...(c === null ? {} : { container: { id: c.id, name: c.name, image: { name: c.image } }, k8s: { pod: { name: pod, uid: 'c0ffee00-1111-4222-8333-444455556666' }, namespace: { name: namespace } } }),
    },
    data,
  };
}

/** Tracee's next output format (`v1beta1.Event`): a security_file_open. */
export function traceeNextOpen(i: RuntimeInit, path: string, flags: string | number): Record<string, unknown> {
  return traceeNext(i, 'security_file_open', [
    { name: 'pathname', str: path },
    typeof flags === 'number' ? { name: 'flags', int32: flags } : { name: 'flags', str: flags },
    { name: 'syscall_pathname', str: path },
  ]);
}

/** Tracee's next output format (`v1beta1.Event`): a sched_process_exec, as in Tracee's documentation. */
export function traceeNextExec(i: RuntimeInit): Record<string, unknown> {
  return traceeNext(i, 'sched_process_exec', [
    { name: 'pathname', str: i.exe ?? `/usr/bin/${i.comm}` },
    { name: 'argv', str_array: { value: i.argv ?? [i.comm] } },
  ]);
}

function cloudDefend(i: RuntimeInit, category: 'file' | 'process', type: string, action: string, extra: Record<string, unknown>): Record<string, unknown> {
  const { c, pod, namespace } = where(i);
  const time = i.time ?? DEFAULT_RUNTIME_TIME;
  const id = createHash('sha256').update(JSON.stringify([category, action, i, extra])).digest('hex');
  return {
    '@timestamp': time.replace(/\.(\d{3})\d*Z$/, '.$1Z'),
    agent: { type: 'cloud-defend', version: '9.3.0' },
    data_stream: { dataset: `cloud_defend.${category}`, namespace: 'default', type: 'logs' },
    event: { kind: 'event', category: [category], type: [type], action, id: `${id.slice(0, 8)}-${id.slice(8, 12)}-4${id.slice(13, 16)}-8${id.slice(17, 20)}-${id.slice(20, 32)}`, dataset: `cloud_defend.${category}` },
    host: { name: i.node ?? NODE, os: { type: 'linux' } },
    process: {
      name: i.comm,
      executable: i.exe ?? `/usr/bin/${i.comm}`,
      args: i.argv ?? [i.comm],
      pid: i.pid ?? 41,
      interactive: i.tty === true,
      parent: { name: i.parent ?? 'sh', executable: `/bin/${i.parent ?? 'sh'}`, interactive: i.tty === true },
      entry_leader: { name: 'sh', executable: '/bin/sh', interactive: i.tty === true, entry_meta: { type: 'container' } },
      user: { id: String(i.uid ?? 0), name: i.user ?? 'root' },
    },
    user: { id: String(i.uid ?? 0) },
    ...(c === null ? {} : { container: { id: c.id, image: { name: c.image.split(':')[0], tag: c.image.split(':')[1] } } }),
    orchestrator: { cluster: { name: 'k8s-1' }, namespace, resource: { name: pod, type: 'pod' } },
    ...extra,
  };
}

/** An Elastic Defend for Containers file `open` (logs-cloud_defend.file-*). */
export function cloudDefendFileOpen(i: RuntimeInit, path: string): Record<string, unknown> {
  return cloudDefend(i, 'file', 'change', 'open', { file: { path, name: path.split('/').pop() } });
}

/** An Elastic Defend for Containers process `exec` (logs-cloud_defend.process-*). */
export function cloudDefendExec(i: RuntimeInit): Record<string, unknown> {
  return cloudDefend(i, 'process', 'start', 'exec', {});
}

/** A document as an Elasticsearch search hit (`_search` output, `elasticdump`, Kibana export). */
export function asSearchHit(doc: Record<string, unknown>, index = '.ds-logs-cloud_defend.process-default-2026.03.02-000001'): Record<string, unknown> {
  const id = createHash('sha256').update(JSON.stringify(doc)).digest('base64url').slice(0, 20);
  return { _index: index, _id: id, _score: null, _source: doc };
}

/** A CloudWatch log event of the Container Insights application group: Fluent Bit's record in `message`. */
/** A bare sensor line as the message of a CloudWatch log event (a log group of the sensor's own, no Fluent Bit record). */
export function asBareCloudWatch(line: Record<string, unknown>, opts: { stream?: string; delayMs?: number } = {}): Record<string, unknown> {
  const time = String(line['time'] ?? new Date(Number(line['timestamp']) / 1e6).toISOString());
  const ts = Date.parse(time);
  return {
    logStreamName: opts.stream ?? 'ip-10-0-1-7.ec2.internal/tracee',
    timestamp: ts,
    message: JSON.stringify(line),
    ingestionTime: ts + (opts.delayMs ?? 2_000),
    eventId: `5${String(ts).padStart(55, '0')}`.slice(0, 56),
  };
}

export function asFluentBitCloudWatch(line: Record<string, unknown>, opts: { sensor?: 'tracee' | 'falco'; delayMs?: number } = {}): Record<string, unknown> {
  const sensor = opts.sensor ?? ('eventName' in line ? 'tracee' : 'falco');
  const time = String(line['time'] ?? new Date(Number(line['timestamp']) / 1e6).toISOString());
  const ts = Date.parse(time);
  const pod = `${sensor}-7xk2p`;
  const record = {
    time,
    stream: 'stdout',
    _p: 'F',
    log: JSON.stringify(line),
    kubernetes: { pod_name: pod, namespace_name: sensor, container_name: sensor, host: NODE, container_image: `docker.io/${sensor}:latest` },
  };
  return {
    logStreamName: `${pod}_${sensor}_${sensor}-0a1b2c3d4e5f`,
    timestamp: ts,
    message: JSON.stringify(record),
    ingestionTime: ts + (opts.delayMs ?? 2_000),
    eventId: `4${String(ts).padStart(55, '0')}`.slice(0, 56),
  };
}

/** A Cloud Logging LogEntry of the sensor container's stdout (GKE parses a JSON line into jsonPayload). */
export function asCloudLoggingContainer(line: Record<string, unknown>, opts: { cluster?: string; project?: string; text?: boolean } = {}): Record<string, unknown> {
  const sensor = 'eventName' in line ? 'tracee' : 'falco';
  const time = String(line['time'] ?? new Date(Number(line['timestamp']) / 1e6).toISOString());
  const project = opts.project ?? 'example-project';
  const insertId = createHash('sha256').update(JSON.stringify(line)).digest('hex').slice(0, 16);
  return {
    insertId,
    ...(opts.text === true ? { textPayload: JSON.stringify(line) } : { jsonPayload: line }),
    resource: {
      type: 'k8s_container',
      labels: { project_id: project, location: 'europe-west1', cluster_name: opts.cluster ?? 'gke-prod-1', namespace_name: sensor, pod_name: `${sensor}-q8r2v`, container_name: sensor },
    },
    timestamp: time,
    severity: 'INFO',
    labels: { 'compute.googleapis.com/resource_name': 'gke-prod-1-default-pool-5c1e2f3a-x7k9', 'k8s-pod/app_kubernetes_io/name': sensor },
    logName: `projects/${project}/logs/stdout`,
    receiveTimestamp: new Date(Date.parse(time) + 3_000).toISOString(),
  };
}

/** A Log Analytics ContainerLogV2 row of the sensor container (LogMessage parsed, or as the string `az` prints). */
export function asContainerLogV2(line: Record<string, unknown>, opts: { cluster?: string; asString?: boolean } = {}): Record<string, unknown> {
  const sensor = 'eventName' in line ? 'tracee' : 'falco';
  const time = String(line['time'] ?? new Date(Number(line['timestamp']) / 1e6).toISOString());
  const cluster = opts.cluster ?? 'aks-prod-1';
  return {
    TimeGenerated: time,
    Computer: 'aks-nodepool1-31718369-vmss000002',
    ContainerId: '9d8c7b6a5f4e3d2c1b0a',
    ContainerName: sensor,
    PodName: `${sensor}-m4n5b`,
    PodNamespace: sensor,
    LogMessage: opts.asString === true ? JSON.stringify(line) : line,
    LogSource: 'stdout',
    KubernetesMetadata: {},
    LogLevel: 'info',
    _ResourceId: `/subscriptions/00000000-1111-2222-3333-444444444444/resourcegroups/rg-${cluster}/providers/microsoft.containerservice/managedclusters/${cluster}`,
    _TimeReceived: new Date(Date.parse(time) + 4_000).toISOString(),
    Type: 'ContainerLogV2',
  };
}
