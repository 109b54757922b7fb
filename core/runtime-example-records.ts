import { createHash } from 'node:crypto';

/**
 * Raw runtime sensor records for rule examples and tests: one process action rendered as Tracee's
 * JSON event or Falco's JSON alert, and either line as each log service stores a sensor
 * container's stdout (CloudWatch via Fluent Bit, Cloud Logging, ContainerLogV2). The shapes follow
 * the sensors' documented output (adapters/runtime/tracee.ts, falco.ts).
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

export function traceeOpen(i: RuntimeInit, path: string, flags: number | string): Record<string, unknown> {
  return tracee(i, 'security_file_open', [
    { name: 'pathname', type: 'const char*', value: path },
    { name: 'flags', type: 'int', value: flags },
    { name: 'dev', type: 'dev_t', value: 66_305 },
    { name: 'inode', type: 'unsigned long', value: 1_048_601 },
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
    { name: 'dev', type: 'dev_t', value: 66_305 },
    { name: 'inode', type: 'unsigned long', value: 524_311 },
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

/** A CloudWatch log event of the Container Insights application group: Fluent Bit's record in `message`. */
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
