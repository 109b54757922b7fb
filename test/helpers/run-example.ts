import { Engine } from '../../core/engine.js';
import type { AuditEvent } from '../../core/event.js';
import type { Finding } from '../../core/finding.js';
import type { AnyRule, RuleExample } from '../../core/rule.js';
import { parseAnyRecord } from '../../adapters/file/detect.js';

/** Runs one example through the real parsers and engine, as a scan would. */
export function runExample(rule: AnyRule, example: RuleExample) {
  const engine = new Engine({ rules: [rule] });
  const records = example.records ?? [example.record];
  const events: AuditEvent[] = [];
  const findings: Finding[] = [];
  const problems: string[] = [];
  records.forEach((record, i) => {
    const origin = { source: `example:${rule.id}:${example.name}`, index: i };
    const hints = example.cluster === undefined ? {} : { cluster: example.cluster };
    for (const outcome of parseAnyRecord(record, origin, hints)) {
      if (outcome.kind === 'event') {
        events.push(outcome.event);
        const result = engine.process(outcome.event);
        findings.push(...result.findings);
        for (const e of result.errors) problems.push(`rule error: ${e.cause}`);
      } else if (outcome.kind === 'rejected') {
        problems.push(`record ${i} rejected: ${outcome.rejection.reason} ${outcome.rejection.detail}`);
      } else {
        problems.push(`record ${i} skipped: ${outcome.skip.reason}`);
      }
    }
  });
  return { events, findings, problems };
}
