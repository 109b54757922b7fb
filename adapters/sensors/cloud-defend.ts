import { isObject, type JsonObject } from '../k8s/parse.js';
import { parsedRuntime, rejected, skipped, type ParseOutcome } from '../../core/model/parse-result.js';
import type { RuntimeEvent } from '../../core/model/runtime-event.js';
import { isoTime, num, recordHash, str, type RuntimeContext } from './context.js';

/**
 * Elastic Defend for Containers (integration `cloud_defend`): the ECS documents of its
 * `logs-cloud_defend.file-*`, `logs-cloud_defend.process-*` and `logs-cloud_defend.alerts-*` data
 * streams, as exported from Elasticsearch (one document per line, or search hits with `_source`).
 * Two events are read, the two branches of Elastic's rule "Kubelet Certificate File Access
 * Detected via Defend for Containers":
 * - `event.category: file`, `event.action: open`: `file.path` opened. D4C logs an open only when it
 *   has write intent, and does not say whether the file was also read (O_RDWR), so the open is a
 *   possible read (`file.accessFrom: 'unknown'`);
 * - `event.category: process`, `event.action: exec`: `process.args` run.
 * Both carry `process.name`, `process.executable`, `process.interactive` (a controlling terminal),
 * `container.id`, `container.image.name`/`tag` and `orchestrator.resource.name` (the pod),
 * `orchestrator.namespace`, `orchestrator.cluster.name`. Other actions (fork, end, creation,
 * deletion, rename, blocked alerts…) are skipped with their action named. Field names follow the
 * integration's documentation; documents mix nested objects and dotted keys
 * (`"container": {"image.name": …}`), and both are read.
 */

/** An ECS field by its dotted name, through nested objects and dotted keys alike. */
export function ecsField(doc: JsonObject, path: string): unknown {
  const parts = path.split('.');
  const walk = (o: unknown, i: number): unknown => {
    if (i === parts.length) return o;
    if (!isObject(o)) return undefined;
    for (let j = parts.length; j > i; j--) {
      const key = parts.slice(i, j).join('.');
      if (key in o) {
        const found = walk((o)[key], j);
        if (found !== undefined) return found;
      }
    }
    return undefined;
  };
  return walk(doc, 0);
}

/** ECS keyword fields may hold one value or an array of them. */
function list(v: unknown): string[] {
  if (typeof v === 'string') return [v];
  return Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : [];
}

function first(v: unknown): string | undefined {
  return str(Array.isArray(v) ? v[0] : v);
}

export function isCloudDefendDocument(v: JsonObject): boolean {
  // Cheap guard: every audit record of every cloud passes through here and has neither key.
  if (!('@timestamp' in v) && !('event' in v) && !('event.category' in v)) return false;
  const dataset = str(ecsField(v, 'data_stream.dataset')) ?? str(ecsField(v, 'event.dataset'));
  if (dataset?.startsWith('cloud_defend.') === true) return true;
  if (ecsField(v, 'agent.type') === 'cloud-defend' || ecsField(v, 'cloud_defend') !== undefined) return true;
  // The integration's own sample event names none of the above: its process tree and
  // orchestrator fields are what only Defend for Containers writes together.
  return ecsField(v, 'event.category') !== undefined && ecsField(v, 'process.entry_leader') !== undefined && ecsField(v, 'orchestrator') !== undefined;
}

export function parseCloudDefendDocument(v: JsonObject, ctx: RuntimeContext): ParseOutcome {
  const origin = ctx.origin;
  const category = list(ecsField(v, 'event.category'));
  const types = list(ecsField(v, 'event.type'));
  const action = str(ecsField(v, 'event.action'));
  const what = `cloud_defend ${category.join(',') || '?'} event`;
  if (action === undefined) return rejected(origin, 'missing-field', `${what}: no event.action`);
  const time = isoTime(ecsField(v, '@timestamp'));
  if (time === undefined) return rejected(origin, 'missing-field', `${what} ${action}: no valid @timestamp`);

  const isFileOpen = category.includes('file') && action === 'open';
  const isExec = category.includes('process') && action === 'exec' && (types.length === 0 || types.includes('start'));
  if (!isFileOpen && !isExec) return skipped(origin, 'other-category', `${what} "${action.slice(0, 40)}"${types.length > 0 ? ` (${types.join(',')})` : ''} is not one credwatch reads (file open, process exec)`);

  const executable = str(ecsField(v, 'process.executable'));
  const name = str(ecsField(v, 'process.name')) ?? executable?.split('/').pop();
  if (name === undefined) return rejected(origin, 'missing-field', `${what} ${action}: neither process.name nor process.executable`);
  const detail: Pick<RuntimeEvent, 'file'> = {};
  if (isFileOpen) {
    const path = str(ecsField(v, 'file.path'));
    if (path === undefined) return rejected(origin, 'missing-field', `${what} open: no file.path`);
    detail.file = { path, accessFrom: 'unknown' };
  } else if (executable !== undefined) {
    detail.file = { path: executable };
  }

  const rawArgs = ecsField(v, 'process.args');
  const args = Array.isArray(rawArgs) ? rawArgs.filter((a): a is string => typeof a === 'string') : [];
  const interactive = ecsField(v, 'process.interactive');
  const pid = num(ecsField(v, 'process.pid'));
  const pname = str(ecsField(v, 'process.parent.name'));
  const pexe = str(ecsField(v, 'process.parent.executable'));
  const uid = num(ecsField(v, 'user.id') ?? ecsField(v, 'process.user.id'));
  const userName = str(ecsField(v, 'user.name') ?? ecsField(v, 'process.user.name'));
  const containerId = str(ecsField(v, 'container.id'));
  const resourceType = str(ecsField(v, 'orchestrator.resource.type'));
  const pod = resourceType === undefined || resourceType === 'pod' ? str(ecsField(v, 'orchestrator.resource.name')) : undefined;
  const namespace = str(ecsField(v, 'orchestrator.namespace'));
  const cluster = ctx.cluster ?? str(ecsField(v, 'orchestrator.cluster.name'));
  const node = ctx.node ?? str(ecsField(v, 'host.name')) ?? str(ecsField(v, 'host.hostname'));
  const outcome = str(ecsField(v, 'event.outcome'));

  const event: RuntimeEvent = {
    kind: 'runtime',
    id: str(ecsField(v, 'event.id')) ?? recordHash(v),
    cloud: ctx.cloud,
    time,
    sensor: 'cloud-defend',
    verb: isFileOpen ? 'open-read' : 'exec',
    process: {
      name,
      ...(executable === undefined ? {} : { executable }),
      args,
      ...(pid === undefined ? {} : { pid }),
      ...(pname === undefined ? {} : { parent: { name: pname, ...(pexe === undefined ? {} : { executable: pexe }) } }),
      ...(typeof interactive === 'boolean' ? { tty: interactive } : {}),
    },
    ...detail,
    outcome: types.includes('denied') || outcome === 'failure' ? 'failure' : outcome === 'success' || isExec ? 'success' : 'unknown',
    sensorRule: `${isFileOpen ? 'file' : 'process'} ${action}`,
    truncated: false,
    origin,
  };
  if (cluster !== undefined) event.cluster = cluster;
  if (ctx.ingestedAt !== undefined) event.ingestedAt = ctx.ingestedAt;
  else {
    const ingested = isoTime(ecsField(v, 'event.ingested'));
    if (ingested !== undefined) event.ingestedAt = ingested;
  }
  if (userName !== undefined || uid !== undefined) event.user = { ...(userName === undefined ? {} : { name: userName }), ...(uid === undefined ? {} : { uid }) };
  if (containerId !== undefined) {
    const cname = str(ecsField(v, 'container.name'));
    const repo = first(ecsField(v, 'container.image.name'));
    const tag = first(ecsField(v, 'container.image.tag'));
    const image = repo === undefined ? undefined : tag === undefined ? repo : `${repo}:${tag}`;
    event.container = { id: containerId, ...(cname === undefined ? {} : { name: cname }), ...(image === undefined ? {} : { image }) };
  }
  if (pod !== undefined) event.pod = pod;
  if (namespace !== undefined) event.namespace = namespace;
  if (node !== undefined) event.node = node;
  return parsedRuntime(event);
}
