import { Engine } from '../../core/engine/engine.js';
import type { DetectionEvent } from '../../core/model/runtime-event.js';
import type { Finding } from '../../core/model/finding.js';
import type { AnyRule, RuleExample } from '../../core/model/rule.js';
import { parseAnyRecord } from '../../adapters/file/detect.js';

/** Runs one example through the real parsers and engine, as a scan would. */
export function runExample(rule: AnyRule, example: RuleExample) {
  const engine = new Engine({ rules: [rule] });
  const records = example.records ?? [example.record];
  const events: DetectionEvent[] = [];
  const findings: Finding[] = [];
  const problems: string[] = [];
  records.forEach((record, i) => {
    const origin = { source: `example:${rule.id}:${example.name}`, index: i };
    const hints = example.cluster === undefined ? {} : { cluster: example.cluster };
    for (const outcome of parseAnyRecord(record, origin, hints)) {
      if (outcome.kind === 'event' || outcome.kind === 'runtime') {
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
  // Runtime findings held for an exec that never came are emitted at the end, as a scan does.
  findings.push(...engine.flush().findings);
  return { events, findings, problems };
}
