import { ConfigError, describeError } from './errors.js';
import type { AuditEvent, Origin } from './event.js';
import { findingKey, type Finding } from './finding.js';
import { BoundedHistory } from './history.js';
import { DEFAULT_IDENTITY_TABLES, type IdentityTables } from './k8s-identity.js';
import { matchesNeeds } from './needs.js';
import type { AnyRule, RuleContext } from './rule.js';

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
}

export interface EngineResult {
  findings: Finding[];
  errors: RuleError[];
}

/** Bound on remembered finding keys in a long-lived engine (watch loop); oldest forgotten first. */
const MAX_REMEMBERED_KEYS = 1_000_000;

/**
 * Dispatches events to the rules whose `needs` they meet, evaluates them, and emits one finding
 * per (rule, cluster, event id): a request logged at several stages alerts once. Pure apart from
 * its own memory; a rule that throws becomes a RuleError and the others still run.
 */
export class Engine {
  private readonly byResource = new Map<string, AnyRule[]>();
  private readonly contexts = new Map<string, RuleContext<unknown>>();
  private readonly emitted = new Set<string>();
  private readonly history = new BoundedHistory();
  readonly rules: readonly AnyRule[];

  constructor(options: EngineOptions) {
    this.rules = options.rules;
    const identities = options.identities ?? DEFAULT_IDENTITY_TABLES;
    for (const rule of options.rules) {
      for (const resource of rule.needs.resources) {
        const list = this.byResource.get(resource) ?? [];
        list.push(rule);
        this.byResource.set(resource, list);
      }
      this.contexts.set(rule.id, {
        options: resolveOptions(rule, options.ruleOptions?.[rule.id]),
        identities,
        history: this.history,
      });
    }
    for (const key of options.seenKeys ?? []) this.emitted.add(key);
  }

  process(event: AuditEvent): EngineResult {
    const findings: Finding[] = [];
    const errors: RuleError[] = [];
    const resource = event.target.resource;
    const candidates = resource === undefined ? undefined : this.byResource.get(resource);
    if (candidates === undefined) return { findings, errors };
    let dispatched = false;
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
      }
      if (draft === null || draft === undefined) continue;
      const decisive = draft.event ?? event;
      const key = findingKey(rule.id, decisive.cluster, decisive.id);
      if (this.emitted.has(key)) continue;
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
        facts: draft.facts ?? {},
        mitre: rule.mitre,
      });
    }
    if (dispatched) this.history.record(event);
    return { findings, errors };
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
