import type { IdentityTables } from '../model/identity-tables.js';
import { ConfigError, describeError } from '../model/errors.js';
import type { AuditEvent, Origin } from '../model/event.js';
import { podKeyOfExec, podKeyOfRuntime } from '../detection/exec-correlation.js';
import { isExecRequest } from '../model/runtime-event.js';
import { findingKey, type Finding } from '../model/finding.js';
import { BoundedHistory, DEFAULT_HISTORY_BYTES } from './history.js';
import type { CarriedEvent } from './carried-events.js';
import { slimEvent } from './carried-events.js';
import { DEFAULT_IDENTITY_TABLES } from '../detection/identity.js';
import { matchesNeeds } from '../model/needs.js';
import { isRuntimeRule, type AnyRule, type Rule, type RuleContext, type RuntimeFindingDraft, type RuntimeRule } from '../model/rule.js';
import type { DetectionEvent, RuntimeEvent } from '../model/runtime-event.js';

export interface RuleError {
  rule: string;
  eventId: string;
  origin: Origin;
  cause: string;
}

export interface EngineOptions {
  rules: readonly AnyRule[];
  /** Per-rule options keyed by rule id; validated against each rule's schema. */
  ruleOptions?: Record<string, unknown>;
  identities?: IdentityTables;
  /** Keys already emitted (for example by an overlapping earlier scan) are not emitted again. */
  seenKeys?: Iterable<string>;
  /**
   * Events earlier scheduled runs kept for the rules' memory (core/engine/carried-events.ts): put in
   * history before the first event, and never judged again (the run that saw them did).
   */
  carried?: readonly CarriedEvent[];
  /** History's byte bound (core/engine/history.ts); the default keeps it under 64 MB. */
  historyBytes?: number;
}

export interface EngineResult {
  findings: Finding[];
  errors: RuleError[];
}

/** Bound on remembered finding keys in a long-lived engine (watch loop); oldest forgotten first. */
const MAX_REMEMBERED_KEYS = 1_000_000;
/** Runtime findings held for a late exec; past this the oldest is emitted as it is. */
const MAX_AWAITING = 10_000;

interface Awaiting {
  rule: RuntimeRule<unknown>;
  event: RuntimeEvent;
  draft: RuntimeFindingDraft;
}

/**
 * Dispatches events to the rules whose `needs` they meet, evaluates them, and emits one finding
 * per (rule, cluster, event id): a request logged at several stages alerts once. Pure apart from
 * its own memory; a rule that throws becomes a RuleError and the others still run.
 */
export class Engine {
  private readonly byResource = new Map<string, Rule<unknown>[]>();
  private readonly byOperation = new Map<string, RuntimeRule<unknown>[]>();
  /** Runtime findings that wait for a pods/exec, by pod. */
  private readonly awaiting = new Map<string, Awaiting[]>();
  private awaitingCount = 0;
  private readonly contexts = new Map<string, RuleContext<unknown>>();
  private readonly emitted = new Set<string>();
  private readonly history: BoundedHistory;
  readonly rules: readonly AnyRule[];
  /** Requests of this input that earlier runs had already judged (carried in, so skipped). */
  carriedSkipped = 0;

  constructor(options: EngineOptions) {
    this.rules = options.rules;
    const objectResources = new Set(
      options.rules.flatMap((r) => (!isRuntimeRule(r) && r.readsSameObject === true ? r.needs.resources : [])),
    );
    this.history = new BoundedHistory(128, 50_000, options.historyBytes ?? DEFAULT_HISTORY_BYTES, objectResources);
    const identities = options.identities ?? DEFAULT_IDENTITY_TABLES;
    for (const rule of options.rules) {
      if (isRuntimeRule(rule)) {
        // A runtime rule's audit needs are for correlation (history), never for its evaluate.
        for (const op of rule.needs.runtime.operations) {
          const list = this.byOperation.get(op) ?? [];
          list.push(rule);
          this.byOperation.set(op, list);
        }
      } else {
        for (const resource of rule.needs.resources) {
          const list = this.byResource.get(resource) ?? [];
          list.push(rule);
          this.byResource.set(resource, list);
        }
      }
      this.contexts.set(rule.id, {
        options: resolveOptions(rule, options.ruleOptions?.[rule.id]),
        identities,
        history: this.history,
        state: isRuntimeRule(rule) ? undefined : rule.state?.create(),
      });
    }
    for (const key of options.seenKeys ?? []) this.emitted.add(key);
    const carried = [...(options.carried ?? [])].sort((a, b) => a.event.time.localeCompare(b.event.time));
    const counting = options.rules.filter((r): r is Rule<unknown> => !isRuntimeRule(r) && r.state !== undefined);
    for (const c of carried) {
      this.history.recordCarried(c.event, c.run, c.suspect === true);
      for (const rule of counting) if (matchesNeeds(rule.needs, c.event)) this.observe(rule, c.event);
    }
  }

  /** Estimated bytes of the events history holds now. */
  get historyBytes(): number {
    return this.history.bytes;
  }

  /**
   * What the rules' memory keeps for the next run, as of `nowMs`: each held event some rule still
   * needs, one per key (the newest), with the longest time any rule wants it. `runId` names the
   * run for events first seen in this one.
   */
  carry(nowMs: number, runId: string): CarriedEvent[] {
    const byKey = new Map<string, CarriedEvent & { t: number }>();
    const keepers = this.rules.filter((r): r is Rule<unknown> => !isRuntimeRule(r) && r.memory !== undefined);
    if (keepers.length === 0) return [];
    for (const event of this.history.events()) {
      const suspect = this.history.suspect(event);
      const t = Date.parse(event.time);
      if (!Number.isFinite(t)) continue;
      for (const rule of keepers) {
        let kept;
        try {
          // A suspect address is kept only as an event to be judged once (by the CSR or sweep
          // memory); address memories never see it.
          if (suspect && rule.memory!.baseline === true) continue;
          kept = rule.memory!.keep(event, this.contexts.get(rule.id)!);
        } catch {
          continue; // a rule that cannot judge an event keeps nothing of it
        }
        if (kept === undefined || t + kept.forMs <= nowMs) continue;
        const key = `${rule.id}\u0000${kept.key}`;
        const prev = byKey.get(key);
        if (prev !== undefined && prev.t > t) continue;
        byKey.set(key, { event, until: t + kept.forMs, run: this.history.earlierRun(event) ?? runId, t });
      }
    }
    // One event kept by several rules is carried once, for the longest of their times.
    const byEvent = new Map<AuditEvent, CarriedEvent>();
    for (const c of byKey.values()) {
      const prev = byEvent.get(c.event);
      if (prev === undefined || prev.until < c.until) byEvent.set(c.event, { event: c.event, until: c.until, run: c.run });
    }
    return [...byEvent.values()].map((c) => ({ ...c, event: slimEvent(c.event), ...(this.history.suspect(c.event) ? { suspect: true as const } : {}) }));
  }

  /** Audit requests go to audit rules, runtime events to runtime rules (by operation). */
  process(event: DetectionEvent): EngineResult {
    if (event.kind === 'runtime') return this.processRuntime(event);
    const findings: Finding[] = [];
    const errors: RuleError[] = [];
    // Re-read by the window overlap: the run that kept it judged it, with less history than now.
    if (this.history.wasCarried(event)) {
      this.carriedSkipped++;
      return { findings, errors };
    }
    if (this.byOperation.size > 0 && isExecRequest(event)) this.recordExec(event, findings, errors);
    const resource = event.target.resource;
    const candidates = resource === undefined ? undefined : this.byResource.get(resource);
    if (candidates === undefined) return { findings, errors };
    let dispatched = false;
    let suspect = false;
    for (const rule of candidates) {
      if (!matchesNeeds(rule.needs, event)) continue;
      dispatched = true;
      const ctx = this.contexts.get(rule.id)!;
      let draft;
      try {
        draft = rule.evaluate(event, ctx);
      } catch (err) {
        errors.push({ rule: rule.id, eventId: event.id, origin: event.origin, cause: describeError(err) });
        continue;
      } finally {
        if (rule.state !== undefined) this.observe(rule, event, errors);
      }
      if (draft === null || draft === undefined) continue;
      if (draft.suspectAddress === true) suspect = true;
      const decisive = draft.event ?? event;
      this.emit(rule, decisive, draft, findings);
    }
    if (dispatched) this.history.record(event, suspect);
    return { findings, errors };
  }

  /**
   * Hands the event to the rule's state; a rule that fails here is reported like a failed verdict.
   * A carried event is handed over while the engine is built, with no result to report it in: a
   * failure there is dropped, as a failing `memory.keep` is in `carry`.
   */
  private observe(rule: Rule<unknown>, event: AuditEvent, errors?: RuleError[]): void {
    const ctx = this.contexts.get(rule.id)!;
    try {
      rule.state!.observe(ctx.state, event, ctx);
    } catch (err) {
      errors?.push({ rule: rule.id, eventId: event.id, origin: event.origin, cause: describeError(err) });
    }
  }

  /**
   * Emits every runtime finding still waiting for a pods/exec, as its rule last judged it (no exec
   * behind it). Call once at the end of the input; `Pipeline.consume` and the scan do.
   */
  flush(): EngineResult {
    const findings: Finding[] = [];
    for (const list of this.awaiting.values()) for (const a of list) this.emit(a.rule, a.event, a.draft, findings);
    this.awaiting.clear();
    this.awaitingCount = 0;
    return { findings, errors: [] };
  }

  private processRuntime(event: RuntimeEvent): EngineResult {
    const findings: Finding[] = [];
    const errors: RuleError[] = [];
    for (const rule of this.byOperation.get(event.verb) ?? []) {
      const draft = this.evaluateRuntime(rule, event, errors);
      if (draft === null) continue;
      if (draft.awaitsExec === true && draft.exec === undefined) this.hold({ rule, event, draft }, findings);
      else this.emit(rule, event, draft, findings);
    }
    return { findings, errors };
  }

  private evaluateRuntime(rule: RuntimeRule<unknown>, event: RuntimeEvent, errors: RuleError[]): RuntimeFindingDraft | null {
    try {
      return rule.evaluate(event, this.contexts.get(rule.id)!) ?? null;
    } catch (err) {
      errors.push({ rule: rule.id, eventId: event.id, origin: event.origin, cause: describeError(err) });
      return null;
    }
  }

  /** A pods/exec request: remembered for correlation, and the runtime findings waiting on its pod judged again. */
  private recordExec(exec: AuditEvent, findings: Finding[], errors: RuleError[]): void {
    this.history.recordExec(exec);
    const key = podKeyOfExec(exec);
    const waiting = key === undefined ? undefined : this.awaiting.get(key);
    if (key === undefined || waiting === undefined) return;
    const still: Awaiting[] = [];
    for (const a of waiting) {
      const draft = this.evaluateRuntime(a.rule, a.event, errors);
      if (draft === null) this.awaitingCount--;
      else if (draft.awaitsExec === true && draft.exec === undefined) still.push({ ...a, draft });
      else {
        this.awaitingCount--;
        this.emit(a.rule, a.event, draft, findings);
      }
    }
    if (still.length > 0) this.awaiting.set(key, still);
    else this.awaiting.delete(key);
  }

  private hold(a: Awaiting, findings: Finding[]): void {
    const key = podKeyOfRuntime(a.event);
    if (key === undefined) return this.emit(a.rule, a.event, a.draft, findings);
    if (this.awaitingCount >= MAX_AWAITING) {
      const [oldestKey, list] = this.awaiting.entries().next().value as [string, Awaiting[]];
      const oldest = list.shift()!;
      if (list.length === 0) this.awaiting.delete(oldestKey);
      this.awaitingCount--;
      this.emit(oldest.rule, oldest.event, oldest.draft, findings);
    }
    const list = this.awaiting.get(key) ?? [];
    list.push(a);
    this.awaiting.set(key, list);
    this.awaitingCount++;
  }

  private emit(rule: AnyRule, decisive: DetectionEvent, draft: RuntimeFindingDraft, findings: Finding[]): void {
    const key = findingKey(rule.id, decisive.cluster, decisive.id);
    if (this.emitted.has(key)) return;
    this.remember(key);
    findings.push({
      key,
      rule: rule.id,
      title: draft.title ?? rule.title,
      severity: draft.severity ?? rule.severity,
      summary: draft.summary,
      cloud: decisive.cloud,
      ...(decisive.cluster === undefined ? {} : { cluster: decisive.cluster }),
      time: decisive.time,
      event: decisive,
      ...(draft.exec === undefined ? {} : { exec: draft.exec }),
      facts: draft.facts ?? {},
      mitre: rule.mitre,
    });
  }

  private remember(key: string): void {
    if (this.emitted.size >= MAX_REMEMBERED_KEYS) {
      const oldest = this.emitted.values().next().value;
      if (oldest !== undefined) this.emitted.delete(oldest);
    }
    this.emitted.add(key);
  }
}

function resolveOptions(rule: AnyRule, raw: unknown): unknown {
  if (rule.options === undefined) return raw ?? {};
  const result = rule.options.safeParse(raw ?? {});
  if (!result.success) {
    const issues = result.error.issues
      .map((i) => `rules.${rule.id}.${i.path.join('.') || '(root)'}: ${i.message}`)
      .join('; ');
    throw new ConfigError('invalid-rule-options', `Invalid options for rule ${rule.id}: ${issues}. Fix the configuration file and run again.`);
  }
  return result.data;
}
