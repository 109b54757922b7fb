import { Readable, Writable } from 'node:stream';
import { runCli, type CliDeps } from '../../functions/cli/run-cli.js';
import { defineRule } from '../../core/model/rule.js';

/** Runs the CLI in-process with in-memory streams; returns the exit code and what it wrote. */
export async function cli(argv: string[], deps: CliDeps = {}, env: NodeJS.ProcessEnv = {}, stdinText = '', terminal?: { isTTY: boolean; columns: number }) {
  const out: string[] = [];
  const err: string[] = [];
  const sink = (into: string[]) =>
    new Writable({
      write(chunk: Buffer | string, _enc, done) {
        into.push(chunk.toString());
        done();
      },
    });
  // `terminal` makes stdout look like a terminal of that width (the table wraps and colours).
  const stdout = terminal === undefined ? sink(out) : Object.assign(sink(out), terminal);
  const code = await runCli(argv, { stdout, stderr: sink(err), stdin: Readable.from([stdinText]), env, isTTY: false }, deps);
  return { code, stdout: out.join(''), stderr: err.join('') };
}

const meta = {
  mitre: ['T1552.007'],
  description: 'test rule',
  whyItMatters: 'test',
  falsePositives: [],
  runbook: ['look'],
  references: [],
};

/** Fires on any list of secrets (high): the CLI's tests do not depend on the real rule set. */
export const testSecretList = defineRule({
  ...meta,
  id: 'test-secret-list',
  title: 'Secrets listed',
  severity: 'high',
  clouds: { eks: 'full', aks: 'full', gke: 'Data Access logs only', k8s: 'full' },
  needs: { resources: ['secrets'], verbs: ['list'] },
  evaluate: (e) => ({ summary: `${e.user.name ?? '?'} listed secrets in ${e.target.namespace ?? 'all namespaces'}`, facts: { scope: e.target.namespace ?? 'cluster' } }),
});

/** Fires on a get of a configmap (low). */
export const testConfigmapGet = defineRule({
  ...meta,
  id: 'test-configmap-get',
  title: 'ConfigMap read',
  severity: 'low',
  mitre: ['T1613'],
  clouds: { eks: 'full', aks: 'full', gke: 'none: not logged' },
  needs: { resources: ['configmaps'], verbs: ['get'] },
  evaluate: (e) => ({ summary: `${e.user.name ?? '?'} read configmap ${e.target.name ?? '?'}` }),
});

export const TEST_RULES = [testSecretList, testConfigmapGet];
