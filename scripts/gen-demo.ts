import { mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { gzipSync } from 'node:zlib';
import { attackMaterial, attacks } from './demo/attacks.js';
import { benignMinute } from './demo/benign.js';
import { DEMO_CLUSTERS, type DemoCluster, type DemoNode } from './demo/clusters.js';
import { nodeJoin, nodeJoinPems } from './demo/csr-traffic.js';
import { Prng } from './demo/prng.js';
import { renderAks, renderEks, renderGke, toAuditEvents } from './demo/render.js';
import { collectingContext, type TimedEvent } from './demo/traffic-context.js';

/**
 * Generates the demo data in demo/: one hour of three clusters' audit traffic (EKS, AKS, GKE
 * shapes), benign near-misses and one attack story per cluster. Deterministic: a fixed seed and
 * window, so running it again gives the same bytes (a test checks the committed files).
 *
 *   npm run gen-demo
 */

export const DEMO_SEED = 20260302;
export const DEMO_WINDOW_START = new Date('2026-03-02T08:00:00.000Z');
const MINUTES = 60;
/** When each cluster's new node joins (TLS bootstrap and kubelet-serving CSRs). */
const JOIN_MINUTE = 12;

export interface DemoFile {
  name: string;
  /** The uncompressed JSONL content; written gzipped. */
  text: string;
}

async function clusterEvents(cluster: DemoCluster, seed: number): Promise<TimedEvent[]> {
  const events: TimedEvent[] = [];
  const ctx = collectingContext(cluster, seed, DEMO_WINDOW_START.getTime(), events);
  const material = await attackMaterial(DEMO_WINDOW_START);
  const joins = new Map<DemoNode, Awaited<ReturnType<typeof nodeJoinPems>>>();
  for (const node of cluster.joining) joins.set(node, await nodeJoinPems(cluster, node));
  const nodes = [...cluster.nodes];
  for (let minute = 0; minute < MINUTES; minute++) {
    benignMinute(ctx, minute, nodes);
    if (minute === JOIN_MINUTE) {
      for (const [node, pems] of joins) {
        nodeJoin(ctx, node, pems, minute * 60_000 + 20_000);
        nodes.push(node);
      }
    }
  }
  attacks(ctx, material);
  return events;
}

export async function generateDemo(seed: number = DEMO_SEED): Promise<DemoFile[]> {
  const files: DemoFile[] = [];
  for (const [i, cluster] of DEMO_CLUSTERS.entries()) {
    const events = toAuditEvents(await clusterEvents(cluster, seed + i));
    const rng = new Prng(seed * 7 + i);
    switch (cluster.cloud) {
      case 'eks':
        files.push({ name: `${cluster.name}.cloudwatch-subscription.jsonl.gz`, text: renderEks(cluster, events).join('\n') + '\n' });
        break;
      case 'aks':
        files.push({ name: `${cluster.name}.diagnostic-records.jsonl.gz`, text: renderAks(cluster, events, rng).join('\n') + '\n' });
        break;
      case 'gke':
        files.push({ name: `${cluster.name}.log-entries.jsonl.gz`, text: renderGke(cluster, events, rng).join('\n') + '\n' });
        break;
    }
  }
  return files;
}

/** Gzip level and header are fixed by zlib; the test compares decompressed text, not gzip bytes. */
export function writeDemo(dir: string, files: readonly DemoFile[]): void {
  mkdirSync(dir, { recursive: true });
  for (const f of readdirSync(dir)) if (f.endsWith('.gz')) rmSync(join(dir, f));
  for (const f of files) writeFileSync(join(dir, f.name), gzipSync(f.text, { level: 9 }));
}

/** demo/ at the repository root, from scripts/ (source) or dist/scripts/ (build). */
export function defaultDemoDir(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  return here.includes(`${join('dist', 'scripts')}`) ? resolve(here, '..', '..', 'demo') : resolve(here, '..', 'demo');
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const dir = process.argv[2] ?? defaultDemoDir();
  const files = await generateDemo();
  writeDemo(dir, files);
  for (const f of files) process.stderr.write(`wrote ${join(dir, f.name)} (${f.text.split('\n').length - 1} lines)\n`);
}
