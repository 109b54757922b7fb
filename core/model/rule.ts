import type * as z from 'zod';
import type { AuditEvent, Cloud } from './event.js';
import type { IdentityTables } from './identity-tables.js';
import type { RuntimeEvent, RuntimeOperation } from './runtime-event.js';
import type { Severity } from './severity.js';

/**
 * Which requests a rule can fire on. The engine dispatches by it and each adapter compiles the
 * union of all enabled rules' needs into the cloud's server-side filter (docs/architecture.md "Rules").
 */
export interface RuleNeeds {
  /** Plural resource names (`secrets`, `certificatesigningrequests`, `pods`). */
  resources: readonly string[];
  /**
   * Subresources the rule reads; `''` stands for the object itself. Undefined = any, including none.
   */
  subresources?: readonly string[];
  /** Audit verbs; undefined = any. */
  verbs?: readonly string[];
  /**
   * Only requests whose `user.name` starts with one of these (case-sensitive), e.g.
   * `['system:node:']`; undefined = any user. A request without a user name is not needed.
   */
  userPrefixes?: readonly string[];
  /**
   * Requests whose user agent starts with one of these (case-sensitive) are not needed, e.g.
   * `['kubelet/']`. A request WITHOUT a user agent is still needed: its absence proves nothing.
   */
  excludeUserAgentPrefixes?: readonly string[];
}

/**
 * What a rule can see on each cloud: `'full'`; a sentence saying what is missing there (partial);
 * or a sentence starting with `'none:'` when the rule cannot fire on that cloud at all (for
 * example GKE does not log exec commands). A cloud left out is treated as `none`.
 */
export type CloudCoverage = Partial<Record<Cloud, string>>;

export function coversCloud(coverage: CloudCoverage, cloud: Cloud): boolean {
  const v = coverage[cloud];
  return v !== undefined && !v.startsWith('none');
}

export interface FindingDraft {
  summary: string;
  /** Raises or lowers the rule's default severity for this finding. */
  severity?: Severity;
  title?: string;
  /** The decoded facts the verdict used; they go to the alert's `facts`. */
  facts?: Record<string, unknown>;
  /**
   * The event that decided the verdict when it is not the one being evaluated (a chain): the
   * finding's key and `event` come from it.
   */
  event?: AuditEvent;
  /**
   * The request's client address is what the finding is about (an address its user's client
   * never used): it never becomes one of that user's known addresses, in this run or carried.
   */
  suspectAddress?: boolean;
}

/** Events the engine saw earlier in this scan, for correlation. Read-only; oldest first. */
/**
 * The client addresses a user's earlier requests came from, kept up to date as history records
 * them, so that a rule asks once per event instead of scanning the user's whole history (up to
 * its bound) on every Secret read; that scan was a visible share of a scan's time.
 *
 * A channel is the kind of client whose addresses are wanted:
 * - `kubelet`: requests sent with the kubelet's user agent (a node's own kubelet);
 * - `{ pod }`: requests made with a token bound to that pod, from a client that may run in a pod.
 */
export type AddressChannel = 'kubelet' | { pod: string };

export interface EventHistory {
  /**
   * Earlier events on the same object: cluster, resource, namespace and name; kept for the
   * resources of the rules that declare `readsSameObject`.
   */
  sameObject(event: AuditEvent): readonly AuditEvent[];
  /** Earlier events by the same user name in the same cluster. */
  sameUser(event: AuditEvent): readonly AuditEvent[];
  /**
   * Client addresses of `sameUser(event)` in one channel (kubelet requests, or requests with a
   * token bound to one pod), first-seen order, every stage of `event` itself left out: exactly
   * `addressesIn(sameUser(event), event, channel)` (core/detection/address-book.ts), without the scan.
   */
  clientAddresses?(event: AuditEvent, channel: AddressChannel): readonly string[];
  /**
   * The earlier CSR event in this cluster that handed out the client certificate with this
   * credential id (`X509SHA256=<hex>`, a signer's status write or a read of the CSR), if any.
   */
  certificateIssuedBy?(cluster: string | undefined, credentialId: string): AuditEvent | undefined;
  /** pods/exec requests seen in this scan into one pod (oldest first), for runtime correlation. */
  execsInPod?(cluster: string | undefined, namespace: string, pod: string): readonly AuditEvent[];
  /**
   * The run that saw `event`, when it came from an earlier scheduled run (kept by a rule's
   * `memory`) rather than from this run's window.
   */
  earlierRun?(event: AuditEvent): string | undefined;
  /** A rule judged this request's client address suspect (`FindingDraft.suspectAddress`): no baseline. */
  suspect?(event: AuditEvent): boolean;
}

/** The events among `used` that came from earlier runs, as a finding names them (ids, times, run). */
export function earlierRunEvidence(history: EventHistory, used: Iterable<AuditEvent>): Array<{ id: string; time: string; run: string }> {
  const out: Array<{ id: string; time: string; run: string }> = [];
  const seen = new Set<string>();
  for (const e of used) {
    const run = history.earlierRun?.(e);
    if (run === undefined || seen.has(e.id)) continue;
    seen.add(e.id);
    out.push({ id: e.id, time: e.time, run });
  }
  return out;
}

/**
 * What a rule keeps between scheduled runs (core/engine/carried-events.ts): the earlier events its
 * verdicts read, carried in the scan's state store so that an attack slower than one run's
 * window is judged as one scan of the whole period would judge it.
 */
export interface RuleMemory<O = unknown> {
  /** What is kept, under which key, for how long: in words, for `credwatch rules` and the docs. */
  keeps: string;
  /** The memory is a baseline of normal use (known addresses): events with a suspect address are not offered. */
  baseline?: boolean;
  /**
   * For an event this run recorded (or carried in), how long after its own time it stays useful
   * and the key it is kept under (one event per key: the newest); undefined: not kept.
   * Events whose address a rule judged suspect are never offered (they are no baseline of normal use).
   */
  keep(event: AuditEvent, ctx: RuleContext<O>): { forMs: number; key: string } | undefined;
}

export interface RuleContext<O = unknown, S = unknown> {
  /** The rule's options, validated against its `options` schema (defaults applied). */
  options: O;
  identities: IdentityTables;
  history: EventHistory;
  /** The rule's own running state (`Rule.state`); undefined for a rule without one. */
  state: S;
}

/**
 * What a rule counts as events arrive, so that judging one never rescans history: the engine
 * makes one per run and hands it every event the rule's needs admit, right after the rule judged
 * it (events carried in from earlier runs first, in time order). Memory is the rule's to bound.
 */
export interface RuleState<O, S> {
  create(): S;
  observe(state: S, event: AuditEvent, ctx: RuleContext<O, S>): void;
}

/**
 * A record (or chain of records) a rule must judge as stated, run through the real parsers and
 * engine by the suite. Each rule file exports its own as `examples(kit)`, next to the rule rather
 * than on it: what examples build their records with (examples/, rules/data/) then never loads
 * with the rules and stays out of the deployed bundles.
 */
export interface RuleExample {
  name: string;
  /** The highest severity this rule must report over the records, or null for "no finding". */
  expect: Severity | null;
  /** A raw record in any shape an adapter accepts (EKS, AKS, GKE, raw audit Event). */
  record?: unknown;
  /** Several raw records, processed in order (a chain); used instead of `record`. */
  records?: readonly unknown[];
  /** Cluster hint for records whose envelope does not name one. */
  cluster?: string;
  /** Facts the finding must carry (a subset match), when `expect` is a severity. */
  facts?: Record<string, unknown>;
  /** Why this case is decided differently from the anchor it comes from, when it is. */
  note?: string;
}

export interface Rule<O = unknown, S = unknown> {
  id: string;
  title: string;
  severity: Severity;
  /** MITRE ATT&CK technique ids, e.g. `T1552.007`. */
  mitre: readonly string[];
  description: string;
  whyItMatters: string;
  falsePositives: readonly string[];
  runbook: readonly string[];
  references: readonly string[];
  clouds: CloudCoverage;
  needs: RuleNeeds;
  /** Schema of per-deployment options; must accept `{}` and fill in defaults. */
  options?: z.ZodType<O>;
  evaluate(event: AuditEvent, ctx: RuleContext<O, S>): FindingDraft | null;
  /** What the rule keeps between scheduled runs; undefined: it reads nothing older than its own run. */
  memory?: RuleMemory<O>;
  /** What it counts within a run as events arrive (`ctx.state`); undefined: it keeps nothing of its own. */
  state?: RuleState<O, S>;
  /**
   * The rule reads `ctx.history.sameObject`: history indexes the objects of its `needs.resources`
   * by name. It indexes no others, so a rule that reads it without saying so gets nothing.
   */
  readsSameObject?: true;
}

/** Identity helper that keeps a rule's options type tied to its schema. */
export function defineRule<O = unknown, S = unknown>(rule: Rule<O, S>): Rule<O, S> {
  return Object.freeze(rule);
}

/**
 * A runtime rule's needs: the runtime operations it judges, plus (as `RuleNeeds`) the audit
 * requests it correlates with. Those are never evaluated by the rule; the engine keeps them in
 * history and the sources download them, so a read can be tied to the `kubectl exec` behind it.
 */
export interface RuntimeRuleNeeds extends RuleNeeds {
  runtime: { operations: readonly RuntimeOperation[] };
}

export interface RuntimeFindingDraft extends Omit<FindingDraft, 'event'> {
  /** The pods/exec request that started the process, when the rule tied one to it. */
  exec?: AuditEvent;
  /**
   * The rule found no exec yet but one could still arrive (logs arrive out of order): the engine
   * holds the finding, evaluates again when a pods/exec into the same pod is processed, and emits
   * this draft as it is at the end of the input (`Engine.flush`).
   */
  awaitsExec?: boolean;
}

/** A rule over runtime sensor events (Tracee, Falco); same metadata as `Rule`. */
export interface RuntimeRule<O = unknown> extends Omit<Rule<O>, 'needs' | 'evaluate' | 'memory' | 'state' | 'readsSameObject'> {
  needs: RuntimeRuleNeeds;
  evaluate(event: RuntimeEvent, ctx: RuleContext<O>): RuntimeFindingDraft | null;
}

export function defineRuntimeRule<O = unknown>(rule: RuntimeRule<O>): RuntimeRule<O> {
  return Object.freeze(rule);
}

export function isRuntimeRule(rule: AnyRule): rule is RuntimeRule<any> {
  return 'runtime' in rule.needs;
}

export type AnyRule = Rule<any> | RuntimeRule<any>;
