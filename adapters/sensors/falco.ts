import { isObject, type JsonObject } from '../k8s/parse.js';
import { parsedRuntime, rejected, skipped, type ParseOutcome } from '../../core/model/parse-result.js';
import type { OpenAccessSource, RuntimeEvent, RuntimeOperation } from '../../core/model/runtime-event.js';
import { isoTime, num, openFlags, recordHash, str, type RuntimeContext } from './context.js';
import { FALCO_INTERNAL_PREFIX, stockRuleSelects, type FalcoRuleSelects } from './falco-rules.js';

/**
 * Falco's JSON alert output (`json_output: true`, `json_include_output_property`):
 * `{time, rule, priority, source, hostname, output, output_fields: {...}, tags, uuid?}`. Falco
 * prints the fields its rule's output names; credwatch reads `evt.type`, `fd.name`, `evt.arg.flags`
 * (or `evt.is_open_read`), `evt.arg.oldpath`/`newpath`, `proc.name`, `proc.exepath`,
 * `proc.cmdline`, `proc.pid`, `proc.pname`, `proc.pexepath`, `proc.tty`, `user.name`, `user.uid`,
 * `container.id` (`host` = no container), `container.name`, `container.image.repository`,
 * `k8s.pod.name`, `k8s.ns.name`, `evt.res` (docs/runtime-sensors.md has a rule that prints them).
 * Falco's stock rules print `evt.type` and `fd.name` but not the flags: an open's read or write
 * intent then comes from what the rule selects (falco-rules.ts), and failing that it is a possible
 * read (`file.accessFrom: 'unknown'`). Falco's internal alerts and alerts about neither a file nor a
 * process are skipped, each with its reason.
 */

export function isFalcoAlert(v: JsonObject): boolean {
  return isObject(v['output_fields']) && (typeof v['rule'] === 'string' || typeof v['priority'] === 'string');
}

const OPEN_TYPES = new Set(['open', 'openat', 'openat2', 'creat', 'open_by_handle_at']);
const RENAME_TYPES = new Set(['rename', 'renameat', 'renameat2']);
const EXEC_TYPES = new Set(['execve', 'execveat']);

type Kind = 'open' | 'rename' | 'exec';

function kindOf(type: string | undefined, f: JsonObject, selects: FalcoRuleSelects | undefined): Kind | undefined {
  if (type !== undefined) {
    if (OPEN_TYPES.has(type)) return 'open';
    if (RENAME_TYPES.has(type)) return 'rename';
    if (EXEC_TYPES.has(type)) return 'exec';
    return undefined;
  }
  // A rule output without evt.type: the fields it printed, or the stock rule, tell.
  if (selects === 'other') return undefined;
  if (str(f['evt.arg.oldpath']) !== undefined || str(f['fs.path.source']) !== undefined) return 'rename';
  if (selects === 'exec') return 'exec';
  if (str(f['fd.name']) !== undefined) return 'open';
  return undefined;
}

function bool(v: unknown): boolean | undefined {
  if (typeof v === 'boolean') return v;
  return v === 'true' ? true : v === 'false' ? false : undefined;
}

/**
 * Read or write, and how that is known: the flags, then Falco's own `evt.is_open_read` (or
 * `evt.is_open_write` = false), then the stock rule's selection, else a possible read.
 */
function openAccess(f: JsonObject, selects: FalcoRuleSelects | undefined): { read: boolean; from: OpenAccessSource } {
  const flags = openFlags(f['evt.arg.flags']);
  if (flags !== undefined) return { read: flags.read, from: 'flags' };
  const isRead = bool(f['evt.is_open_read']);
  if (isRead !== undefined) return { read: isRead, from: 'sensor-field' };
  if (bool(f['evt.is_open_write']) === false) return { read: true, from: 'sensor-field' };
  if (selects === 'read' || selects === 'write') return { read: selects === 'read', from: 'sensor-rule' };
  return { read: true, from: 'unknown' };
}

const SHELLS = new Set(['sh', 'bash', 'ash', 'dash', 'zsh', 'ksh', 'mksh']);

/**
 * Falco's `proc.cmdline` is `name arg1 arg2…` joined by spaces: split back, quoting lost. A
 * shell's `-c` script is one argument that spaces would cut into words, so everything after the
 * flag is kept together as the script.
 */
export function argvOf(f: JsonObject): string[] {
  const cmdline = str(f['proc.cmdline']);
  if (cmdline === undefined) return [];
  const words = cmdline.split(/\s+/).filter((a) => a !== '');
  if (!SHELLS.has(words[0] ?? '')) return words;
  const c = words.findIndex((w, i) => i > 0 && /^-[a-zA-Z]*c$/.test(w));
  return c === -1 || c === words.length - 1 ? words : [...words.slice(0, c + 1), words.slice(c + 1).join(' ')];
}

export function parseFalcoAlert(v: JsonObject, ctx: RuntimeContext): ParseOutcome {
  const origin = ctx.origin;
  const f = v['output_fields'] as JsonObject;
  const rule = str(v['rule']);
  if (rule?.startsWith(FALCO_INTERNAL_PREFIX) === true) return skipped(origin, 'sensor-internal', `falco internal alert "${rule.slice(0, 80)}": the sensor's own health report, not a process event`);
  const source = str(v['source']);
  if (source !== undefined && source !== 'syscall') return skipped(origin, 'other-category', `falco ${source} alert, not a syscall event`);
  const time = isoTime(v['time']) ?? isoTime(f['evt.time.iso8601']) ?? isoTime(f['evt.rawtime']);
  if (time === undefined) return rejected(origin, 'missing-field', `falco alert${rule === undefined ? '' : ` "${rule.slice(0, 60)}"`}: no valid time`);
  const type = str(f['evt.type']);
  const selects = stockRuleSelects(rule);
  const kind = kindOf(type, f, selects);
  if (kind === undefined) {
    if (type !== undefined) return skipped(origin, 'other-category', `falco ${type} event is not one credwatch reads`);
    const why = selects === 'other' ? 'a stock rule about neither a file open nor an exec' : 'its output fields name no file or process action (no evt.type, fd.name or evt.arg.oldpath)';
    return skipped(origin, 'other-category', `falco alert "${(rule ?? '?').slice(0, 60)}": ${why}`);
  }
  const procName = str(f['proc.name']);
  if (procName === undefined) return rejected(origin, 'missing-field', `falco alert "${(rule ?? '?').slice(0, 60)}": no proc.name`);

  let verb: RuntimeOperation;
  const detail: Pick<RuntimeEvent, 'file' | 'rename'> = {};
  if (kind === 'open') {
    const path = str(f['fd.name']) ?? str(f['evt.arg.name']) ?? str(f['fs.path.name']);
    if (path === undefined) return rejected(origin, 'missing-field', 'falco open event: no fd.name');
    const flags = openFlags(f['evt.arg.flags']);
    const access = openAccess(f, selects);
    verb = access.read ? 'open-read' : 'open-write';
    detail.file = flags === undefined ? { path, accessFrom: access.from } : { path, flags: flags.names, accessFrom: access.from };
  } else if (kind === 'rename') {
    const from = str(f['evt.arg.oldpath']) ?? str(f['fs.path.source']);
    const to = str(f['evt.arg.newpath']) ?? str(f['fs.path.target']);
    if (from === undefined || to === undefined) return rejected(origin, 'missing-field', 'falco rename event: evt.arg.oldpath or evt.arg.newpath missing');
    verb = 'rename';
    detail.rename = { from, to };
  } else {
    verb = 'exec';
    const exe = str(f['proc.exepath']) ?? str(f['proc.exe']);
    if (exe !== undefined) detail.file = { path: exe };
  }

  const executable = str(f['proc.exepath']);
  const pid = num(f['proc.pid']);
  const ttyNum = num(f['proc.tty']);
  const pname = str(f['proc.pname']);
  const pexe = str(f['proc.pexepath']);
  const containerId = str(f['container.id']);
  const userName = str(f['user.name']);
  const uid = num(f['user.uid']);
  const res = str(f['evt.res']);
  const pod = str(f['k8s.pod.name']);
  const namespace = str(f['k8s.ns.name']);
  const node = ctx.node ?? str(v['hostname']);

  const event: RuntimeEvent = {
    kind: 'runtime',
    id: str(v['uuid']) ?? recordHash(v),
    cloud: ctx.cloud,
    time,
    sensor: 'falco',
    verb,
    process: {
      name: procName,
      ...(executable === undefined ? {} : { executable }),
      args: argvOf(f),
      ...(pid === undefined ? {} : { pid }),
      ...(pname === undefined ? {} : { parent: { name: pname, ...(pexe === undefined ? {} : { executable: pexe }) } }),
      ...(ttyNum === undefined ? {} : { tty: ttyNum !== 0 }),
    },
    ...detail,
    outcome: res === undefined ? 'unknown' : res === 'SUCCESS' || /^\d+$/.test(res) ? 'success' : 'failure',
    ...(rule === undefined ? {} : { sensorRule: rule }),
    truncated: false,
    origin,
  };
  if (ctx.cluster !== undefined) event.cluster = ctx.cluster;
  if (ctx.ingestedAt !== undefined) event.ingestedAt = ctx.ingestedAt;
  if (userName !== undefined || uid !== undefined) event.user = { ...(userName === undefined ? {} : { name: userName }), ...(uid === undefined ? {} : { uid }) };
  if (containerId !== undefined && containerId !== 'host') {
    const cname = str(f['container.name']);
    const repo = str(f['container.image.repository']);
    const tag = str(f['container.image.tag']);
    const image = repo === undefined ? str(f['container.image']) : tag === undefined ? repo : `${repo}:${tag}`;
    event.container = { id: containerId, ...(cname === undefined ? {} : { name: cname }), ...(image === undefined ? {} : { image }) };
  }
  if (pod !== undefined) event.pod = pod;
  if (namespace !== undefined) event.namespace = namespace;
  if (node !== undefined) event.node = node;
  return parsedRuntime(event);
}
