import { readFile } from 'node:fs/promises';
import { resolveDetectionConfig, type ResolvedDetectionConfig } from '../../core/engine/detection-config.js';
import { ConfigError, describeError } from '../../core/model/errors.js';
import { DEFAULT_IDENTITY_TABLES } from '../../core/detection/identity.js';
import type { AnyRule } from '../../core/model/rule.js';

/** The `--config FILE` of `scan` and `watch`: the same schema as the functions' CREDWATCH_CONFIG. */
export type ResolvedConfig = ResolvedDetectionConfig;

/** Reads and validates the config file; every problem is reported with the option's path. */
export async function loadConfigFile(file: string, rules: readonly AnyRule[]): Promise<ResolvedConfig> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw new ConfigError('config-unreadable', `--config ${file}: cannot read the file (${describeError(err)}).`);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new ConfigError('config-invalid', `--config ${file}: not valid JSON (${describeError(err)}).`);
  }
  return resolveDetectionConfig(raw, rules, `--config ${file}`);
}

export function defaultConfig(): ResolvedConfig {
  return { ruleOptions: {}, identities: DEFAULT_IDENTITY_TABLES };
}
