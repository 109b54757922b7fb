import { isObject, type JsonObject } from '../k8s/parse.js';
import { parsedRuntime, rejected, skipped, type ParseOutcome } from '../../core/model/parse-result.js';
import type { RuntimeEvent, RuntimeOperation } from '../../core/model/runtime-event.js';
import { isoTime, num, openFlags, recordHash, str, type RuntimeContext } from './context.js';

/**
 * Tracee's JSON event output (`tracee --output json`, one `trace.Event` per line): `eventName`,
 * `timestamp` (ns), `processName`, `executable.path`, `processId`, `userId`, `hostName`,
 * `container {id, name, image}` and `kubernetes {podName, podNamespace}` (older releases print
 * `containerId`, `containerName`, `containerImage`, `podName`, `podNamespace` at the top level),
 * `returnValue`, and `args: [{name, type, value}]`. Three events are read:
 * `security_file_open` (pathname, flags), `security_inode_rename` (old_path, new_path) and
 * `sched_process_exec` (pathname, argv, stdin_type/stdin_path). Other events are skipped.
 *
 * Tracee's next format (main branch, the `v1beta1.Event` protobuf as JSON): `timestamp {seconds,
 * nanos}`, `name`, `workload.process {thread.name, pid, real_user.id, executable.path, ancestors}`,
 * `workload.container {id, name, image.name}`, `workload.k8s {pod.name, namespace.name}` (or
 * `workload.pod`), and `data: [{name, str | int32 | u_int32 | str_array {value} | …}]`. It is read
 * by mapping it onto the current shape, so both formats give the same event.
 */

export const TRACEE_EVENTS = Object.freeze(['security_file_open', 'security_inode_rename', 'sched_process_exec'] as const);

export function isTraceeEvent(v: JsonObject): boolean {
  return typeof v['eventName'] === 'string' && ('args' in v || 'argsNum' in v) && ('timestamp' in v || 'processName' in v);
}

function argsOf(v: JsonObject): Map<string, unknown> | undefined {
  const args = v['args'];
  if (args === null || args === undefined) return new Map();
  if (!Array.isArray(args)) return undefined;
  const out = new Map<string, unknown>();
  for (const a of args) if (isObject(a) && typeof a['name'] === 'string') out.set(a['name'], a['value']);
  return out;
}

export function parseTraceeEvent(v: JsonObject, ctx: RuntimeContext): ParseOutcome {
  const name = v['eventName'] as string;
  const origin = ctx.origin;
  if (!(TRACEE_EVENTS as readonly string[]).includes(name)) return skipped(origin, 'other-category', `tracee event ${name.slice(0, 60)} is not one credwatch reads`);
  const args = argsOf(v);
  if (args === undefined) return rejected(origin, 'invalid-value', `tracee ${name}: args is not an array`);
  const time = isoTime(v['timestamp']);
  if (time === undefined) return rejected(origin, 'missing-field', `tracee ${name}: no valid timestamp`);
  const processName = str(v['processName']);
  if (processName === undefined) return rejected(origin, 'missing-field', `tracee ${name}: no processName`);

  let verb: RuntimeOperation;
  const detail: Pick<RuntimeEvent, 'file' | 'rename'> = {};
  let argv: string[] = [];
  let tty: boolean | undefined;
  if (name === 'security_file_open') {
    const path = str(args.get('pathname'));
    if (path === undefined) return rejected(origin, 'missing-field', 'tracee security_file_open: no pathname argument');
    const flags = openFlags(args.get('flags'));
    if (flags === undefined) return rejected(origin, 'missing-field', `tracee security_file_open of ${path}: no flags argument, read or write unknown`);
    verb = flags.read ? 'open-read' : 'open-write';
    detail.file = { path, flags: flags.names, accessFrom: 'flags' };
  } else if (name === 'security_inode_rename') {
    const from = str(args.get('old_path'));
    const to = str(args.get('new_path'));
    if (from === undefined || to === undefined) return rejected(origin, 'missing-field', 'tracee security_inode_rename: old_path or new_path missing');
    verb = 'rename';
    detail.rename = { from, to };
  } else {
    const path = str(args.get('pathname')) ?? str(args.get('cmdpath'));
    if (path === undefined) return rejected(origin, 'missing-field', 'tracee sched_process_exec: no pathname argument');
    const raw = args.get('argv');
    argv = Array.isArray(raw) ? raw.filter((a): a is string => typeof a === 'string') : [];
    verb = 'exec';
    detail.file = { path };
    const stdinType = str(args.get('stdin_type'));
    const stdinPath = str(args.get('stdin_path'));
    if (stdinType !== undefined) tty = stdinType === 'S_IFCHR' && /^\/dev\/(pts\/|tty)/.test(stdinPath ?? '');
  }

  const exe = v['executable'];
  const executable = isObject(exe) ? str(exe['path']) : str(exe);
  const c = isObject(v['container']) ? (v['container']) : {};
  const k = isObject(v['kubernetes']) ? (v['kubernetes']) : {};
  const containerId = str(c['id']) ?? str(v['containerId']);
  const pod = str(k['podName']) ?? str(v['podName']);
  const namespace = str(k['podNamespace']) ?? str(v['podNamespace']);
  const node = ctx.node ?? str(v['hostName']);
  const pid = num(v['processId']);
  const uid = num(v['userId']);
  const rv = num(v['returnValue']);

  const event: RuntimeEvent = {
    kind: 'runtime',
    id: recordHash(v),
    cloud: ctx.cloud,
    time,
    sensor: 'tracee',
    verb,
    process: {
      name: processName,
      ...(executable === undefined ? {} : { executable }),
      args: argv,
      ...(pid === undefined ? {} : { pid }),
      ...(tty === undefined ? {} : { tty }),
    },
    ...detail,
    outcome: rv === undefined ? 'unknown' : rv < 0 ? 'failure' : 'success',
    sensorRule: name,
    truncated: false,
    origin,
  };
  if (ctx.cluster !== undefined) event.cluster = ctx.cluster;
  if (ctx.ingestedAt !== undefined) event.ingestedAt = ctx.ingestedAt;
  if (uid !== undefined) event.user = { uid };
  if (containerId !== undefined) {
    const cname = str(c['name']) ?? str(v['containerName']);
    const image = str(c['image']) ?? str(v['containerImage']);
    event.container = { id: containerId, ...(cname === undefined ? {} : { name: cname }), ...(image === undefined ? {} : { image }) };
  }
  if (pod !== undefined) event.pod = pod;
  if (namespace !== undefined) event.namespace = namespace;
  if (node !== undefined) event.node = node;
  return parsedRuntime(event);
}

export function isTraceeNextEvent(v: JsonObject): boolean {
  return typeof v['name'] === 'string' && isObject(v['timestamp']) && (Array.isArray(v['data']) || isObject(v['workload']));
}

/** A protobuf wrapper as JSON: `{value: n}` (encoding/json) or `n` (protojson). */
function wrapped(v: unknown): unknown {
  return isObject(v) && 'value' in v ? v['value'] : v;
}

/** The one typed member of an EventValue (`str`, `int32`, `str_array {value}`…), whatever its spelling. */
function eventValue(d: JsonObject): unknown {
  for (const [k, v] of Object.entries(d)) {
    if (k === 'name') continue;
    return isObject(v) && Array.isArray(v['value']) ? v['value'] : v;
  }
  return undefined;
}

/** RFC 3339 with the nanoseconds kept, from `{seconds, nanos}` (seconds may be a string, as protojson writes int64). */
function timestampOf(t: unknown): string | undefined {
  if (!isObject(t)) return undefined;
  const seconds = Number(t['seconds']);
  const nanos = t['nanos'] === undefined ? 0 : Number(t['nanos']);
  if (!Number.isFinite(seconds) || seconds <= 0 || !Number.isInteger(nanos) || nanos < 0 || nanos > 999_999_999) return undefined;
  const d = new Date(seconds * 1000);
  if (Number.isNaN(d.getTime())) return undefined;
  return `${d.toISOString().slice(0, 19)}.${String(nanos).padStart(9, '0')}Z`;
}

/** The next-format event in the current shape, so one parser reads both. */
export function traceeNextAsCurrent(v: JsonObject): JsonObject {
  const w = isObject(v['workload']) ? (v['workload']) : {};
  const p = isObject(w['process']) ? (w['process']) : {};
  const thread = isObject(p['thread']) ? (p['thread']) : {};
  const exe = isObject(p['executable']) ? (p['executable']) : {};
  const user = isObject(p['real_user']) ? (p['real_user']) : isObject(p['realUser']) ? (p['realUser']) : {};
  const c = isObject(w['container']) ? (w['container']) : {};
  const image = isObject(c['image']) ? (c['image']) : {};
  const k8s = isObject(w['k8s']) ? (w['k8s']) : {};
  const pod = isObject(k8s['pod']) ? (k8s['pod']) : isObject(w['pod']) ? (w['pod']) : {};
  const ns = isObject(k8s['namespace']) ? (k8s['namespace']) : {};
  const data = Array.isArray(v['data']) ? v['data'] : [];
  const args = data.filter(isObject).map((d) => ({ name: (d)['name'], value: eventValue(d) }));
  const out: JsonObject = {
    eventName: v['name'],
    timestamp: timestampOf(v['timestamp']) ?? null,
    processName: thread['name'] ?? null,
    executable: { path: exe['path'] ?? null },
    processId: wrapped(p['pid']) ?? null,
    userId: wrapped(user['id']) ?? null,
    container: { id: c['id'] ?? null, name: c['name'] ?? null, image: image['name'] ?? null },
    kubernetes: { podName: pod['name'] ?? null, podNamespace: ns['name'] ?? pod['namespace'] ?? null },
    args,
  };
  if (v['return_value'] !== undefined || v['returnValue'] !== undefined) out['returnValue'] = v['return_value'] ?? v['returnValue'];
  return out;
}
