import * as auditRecords from '../../examples/audit-records.js';
import * as pantherRecords from '../../examples/panther-records.js';
import * as runtimeRecords from '../../examples/runtime-records.js';
import * as csrEvents from './csr-events.js';
import * as csrSamples from './csr-samples.js';

/**
 * What the rules' examples build their records with, handed to each rule file's
 * `examples(kit)` by the suite (test/helpers/rule-examples.ts). A rule file imports only the
 * type, so loading the rules (the CLI, the functions) loads none of these builders or samples,
 * and the deployed bundles leave them out (test/infra/aws-bundle.test.ts).
 */
export const EXAMPLE_BUILDERS = Object.freeze({ ...auditRecords, ...pantherRecords, ...runtimeRecords, ...csrEvents, ...csrSamples });

export type ExampleKit = typeof EXAMPLE_BUILDERS & {
  /**
   * A record of the real corpus as captured: line `line` (from 1) of
   * test/fixtures/real/<file> (provenance in its PROVENANCE.md). The suite reads it; an
   * example that names the line carries no copy that could drift from it.
   */
  realRecord: (file: string, line: number) => Record<string, unknown>;
};
