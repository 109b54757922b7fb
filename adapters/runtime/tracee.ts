import { isObject, type JsonObject } from '../../core/k8s-audit.js';
import { parsedRuntime, rejected, skipped, type ParseOutcome } from '../../core/parse-result.js';
import type { RuntimeEvent, RuntimeOperation } from '../../core/runtime-event.js';
import { isoTime, num, openFlags, recordHash, str, type RuntimeContext } from './context.js';

/**
 * Tracee's JSON event output (`tracee --output json`, one `trace.Event` per line): `eventName`,
 * `timestamp` (ns), `processName`, `executable.path`, `processId`, `userId`, `hostName`,
 * `container {id, name, image}` and `kubernetes {podName, podNamespace}` (older releases print
 * `containerId`, `containerName`, `containerImage`, `podName`, `podNamespace` at the top level),
 * `returnValue`, and `args: [{name, type, value}]`. Three events are read:
 * `security_file_open` (pathname, flags), `security_inode_rename` (old_path, new_path) and
 * `sched_process_exec` (pathname, argv, stdin_type/stdin_path). Other events are skipped.
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
    detail.file = { path, flags: flags.names };
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
  const c = isObject(v['container']) ? (v['container'] as JsonObject) : {};
  const k = isObject(v['kubernetes']) ? (v['kubernetes'] as JsonObject) : {};
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
