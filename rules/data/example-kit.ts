import * as auditRecords from '../../examples/audit-records.js';
import * as runtimeRecords from '../../examples/runtime-records.js';
import * as csrEvents from './csr-events.js';
import * as csrSamples from './csr-samples.js';

/**
 * What the rules' examples build their records with, handed to each rule file's
 * `examples(kit)` by the suite (test/helpers/rule-examples.ts). A rule file imports only the
 * type, so loading the rules (the CLI, the functions) loads none of these builders or samples,
 * and the deployed bundles leave them out (test/infra/aws-bundle.test.ts).
 */
export const EXAMPLE_KIT = Object.freeze({ ...auditRecords, ...runtimeRecords, ...csrEvents, ...csrSamples });

export type ExampleKit = typeof EXAMPLE_KIT;
