import { once } from 'node:events';
import { createWriteStream } from 'node:fs';
import { asAks, asEks, asGke, k8sEvent } from '../examples/audit-records.js';
import { attackMaterial, attacks, type AttackMaterial } from '../scripts/demo/attacks.js';
import { benignMinute } from '../scripts/demo/benign.js';
import { DEMO_CLUSTERS, type DemoCluster, type DemoNode } from '../scripts/demo/clusters.js';
import { nodeJoin, nodeJoinPems, type NodeJoinPems } from '../scripts/demo/csr-traffic.js';
import { Prng } from '../scripts/demo/prng.js';
import { collectingContext, type TimedEvent, type TrafficContext } from '../scripts/demo/traffic-context.js';

/**
 * The bench input: the demo's traffic model (benign kubelet, controller, workload and human
 * requests, node joins with real CSRs, the attack stories) run for as many minutes as it takes
 * to reach the requested event count, one record per line in each cloud's shape: an EKS
 * CloudWatch Logs event, an AKS diagnostic record, a GKE LogEntry. Written as it is generated,
 * so generating 500,000 events holds one minute of traffic in memory, not the file.
 */

export const BENCH_SEED = 424242;
const START = new Date('2026-03-02T00:00:00.000Z');
/** A node joins and an attack story plays once per simulated hour and cluster. */
const STORY_EVERY_MINUTES = 60;

export interface GeneratedFile {
  path: string;
  events: number;
  bytes: number;
  /** Events per shape, to show the mix. */
  byCloud: Record<string, number>;
}

interface ClusterState {
  cluster: DemoCluster;
  ctx: TrafficContext;
  buffer: TimedEvent[];
  nodes: DemoNode[];
  pems: NodeJoinPems;
  rng: Prng;
}

/** One audit event as one line in its cluster's cloud shape (EKS CloudWatch event, AKS diagnostic record, GKE LogEntry). */
export function render(cluster: DemoCluster, ev: ReturnType<typeof k8sEvent>, rng: Prng): string {
  switch (cluster.cloud) {
    case 'eks':
      return JSON.stringify(asEks(ev, { delayMs: 800 + rng.int(3_000) }));
    case 'aks':
      return JSON.stringify(asAks(ev, { cluster: cluster.name, form: 'diagnostic' }));
    case 'gke':
      return JSON.stringify(asGke(ev, { cluster: cluster.name, delayMs: 800 + rng.int(3_000) }));
  }
}

/** Writes at least `target` events (whole minutes of traffic) to `path`. */
export async function generateBenchFile(path: string, target: number, seed = BENCH_SEED): Promise<GeneratedFile> {
  const material: AttackMaterial = await attackMaterial(START);
  const states: ClusterState[] = [];
  for (const [i, cluster] of DEMO_CLUSTERS.entries()) {
    const buffer: TimedEvent[] = [];
    const joining = cluster.joining[0] ?? cluster.nodes[0]!;
    states.push({
      cluster,
      buffer,
      ctx: collectingContext(cluster, seed + i, START.getTime(), buffer),
      nodes: [...cluster.nodes],
      pems: await nodeJoinPems(cluster, joining),
      rng: new Prng(seed * 31 + i),
    });
  }
  const out = createWriteStream(path);
  const result: GeneratedFile = { path, events: 0, bytes: 0, byCloud: {} };
  let pending = '';
  for (let minute = 0; result.events < target; minute++) {
    for (const s of states) {
      benignMinute(s.ctx, minute, s.nodes);
      const hour = Math.floor(minute / STORY_EVERY_MINUTES);
      if (minute % STORY_EVERY_MINUTES === 12) nodeJoin(s.ctx, s.cluster.joining[0] ?? s.nodes[0]!, s.pems, minute * 60_000 + 20_000);
      if (minute % STORY_EVERY_MINUTES === 0 && hour > 0) {
        // Replay the previous hour's stories shifted by an hour: same shapes, new ids and times.
        const shifted: TrafficContext = { ...s.ctx, time: (ms) => s.ctx.time(ms + (hour - 1) * 3_600_000) };
        attacks(shifted, material);
      }
      s.buffer.sort((a, b) => a.ms - b.ms);
      for (const e of s.buffer) {
        const line = render(s.cluster, k8sEvent(e.init), s.rng) + '\n';
        pending += line;
        result.events++;
        result.byCloud[s.cluster.cloud] = (result.byCloud[s.cluster.cloud] ?? 0) + 1;
      }
      s.buffer.length = 0;
    }
    if (pending.length > 1 << 20) {
      result.bytes += Buffer.byteLength(pending);
      if (!out.write(pending)) await once(out, 'drain');
      pending = '';
    }
  }
  result.bytes += Buffer.byteLength(pending);
  out.end(pending);
  await once(out, 'finish');
  return result;
}
