import { describe, expect, it } from 'vitest';
import { resolveDetectionConfig } from '../../../core/engine/detection-config.js';
import { ConfigError } from '../../../core/model/errors.js';
import { DEFAULT_IDENTITY_TABLES } from '../../../core/detection/identity.js';
import { RULES } from '../../../rules/index.js';

describe('detection config', () => {
  it('extends every default identity table, per-cloud ones included', () => {
    const r = resolveDetectionConfig(
      { identities: { controlPlaneUsers: ['acme:operator'], cloudControlPlane: { eks: { users: ['eks:acme'] } } } },
      RULES,
      'test',
    );
    expect(r.identities.controlPlaneUsers).toEqual([...DEFAULT_IDENTITY_TABLES.controlPlaneUsers, 'acme:operator']);
    expect(r.identities.cloudControlPlane?.eks?.users).toEqual([...(DEFAULT_IDENTITY_TABLES.cloudControlPlane?.eks?.users ?? []), 'eks:acme']);
    expect(r.identities.cloudControlPlane?.aks).toEqual(DEFAULT_IDENTITY_TABLES.cloudControlPlane?.aks);
    expect(r.identities.csrControllers).toEqual(DEFAULT_IDENTITY_TABLES.csrControllers);
  });

  it('names the option that is wrong and where it came from', () => {
    expect(() => resolveDetectionConfig({ identities: { controlPlanePrincipals: ['('] } }, RULES, 'CREDWATCH_CONFIG')).toThrow(
      'CREDWATCH_CONFIG: identities.controlPlanePrincipals.0: not a valid regular expression.',
    );
    expect(() => resolveDetectionConfig({ rules: { 'no-such-rule': {} } }, RULES, '--config x.json')).toThrow(ConfigError);
    expect(() => resolveDetectionConfig({ colour: 'red' }, RULES, 'x')).toThrow(/x: \(root\): Unrecognized key/);
  });
});

describe('strict detection config', () => {
  it('rejects a misspelt rule option with its path and the options that exist', () => {
    expect(() => resolveDetectionConfig({ rules: { 'secret-sweep': { thresh: 15 } } }, RULES, '--config c.json')).toThrow(
      /^--config c\.json: rules\.secret-sweep\.thresh: unknown option \(known: [^)]*threshold[^)]*\)\.$/,
    );
  });

  it('rejects unknown keys inside nested option objects and arrays', () => {
    const config = {
      rules: {
        'secret-read-by-service-account': { allow: [{ serviceAccount: 'ops:backup', podNamePrefix: 'backup-', userAgentprefix: 'velero/' }] },
      },
    };
    expect(() => resolveDetectionConfig(config, RULES, 'x')).toThrow(/rules\.secret-read-by-service-account\.allow\.0\.userAgentprefix: unknown option/);
  });

  it('rejects unknown keys in the identity tables and their per-cloud entries', () => {
    expect(() => resolveDetectionConfig({ identities: { controlPlaneUser: ['a'] } }, RULES, 'x')).toThrow(/identities: Unrecognized key: "controlPlaneUser"/);
    expect(() => resolveDetectionConfig({ identities: { cloudControlPlane: { eks: { user: ['a'] } } } }, RULES, 'x')).toThrow(
      /identities\.cloudControlPlane\.eks: Unrecognized key: "user"/,
    );
  });

  it('accepts every documented option of every rule', () => {
    expect(() => resolveDetectionConfig({ rules: { 'secret-sweep': { threshold: 15 } } }, RULES, 'x')).not.toThrow();
  });
});
