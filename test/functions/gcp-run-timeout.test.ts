import { describe, expect, it } from 'vitest';
import { readGcpConfig } from '../../functions/gcp/handler.js';
import { ENV } from '../../functions/shared/runtime-config.js';
import { ConfigError } from '../../core/model/errors.js';

const base = {
  [ENV.sources]: JSON.stringify([{ cloud: 'gke', projects: ['acme-prod'] }]),
  [ENV.gcpProject]: 'acme-prod',
  [ENV.pubsubTopic]: 'credwatch-alerts',
};

describe('the Cloud Function time limit', () => {
  it('becomes the run timeout that leases and claims last (infra/gcp sets it from function_timeout_seconds)', () => {
    expect(readGcpConfig({ ...base, [ENV.runTimeoutSeconds]: '240' }).runTimeoutMs).toBe(240_000);
    expect(readGcpConfig(base).runTimeoutMs).toBeUndefined();
  });

  it('is refused by name when it is not whole seconds in range', () => {
    for (const bad of ['0', '30', 'ten', '4000', '90.5']) {
      expect(() => readGcpConfig({ ...base, [ENV.runTimeoutSeconds]: bad })).toThrow(ConfigError);
      expect(() => readGcpConfig({ ...base, [ENV.runTimeoutSeconds]: bad })).toThrow(ENV.runTimeoutSeconds);
    }
  });
});
