import { z } from 'zod';
import { ConfigError } from './errors.js';
import { DEFAULT_IDENTITY_TABLES, extendIdentityTables, type IdentityTables } from './k8s-identity.js';
import type { AnyRule } from './rule.js';

/**
 * Deployment configuration of the detection itself, shared by the CLI (`--config FILE`) and the
 * scheduled functions (`CREDWATCH_CONFIG`). Rule options are validated by each rule's own schema
 * when the engine is built; here only their container, and that every id names a rule.
 */
const names = z.array(z.string().min(1));

export const DetectionConfigSchema = z.strictObject({
  rules: z.record(z.string(), z.record(z.string(), z.unknown())).optional(),
  /** Added to the built-in identity tables (core/k8s-identity.ts): they extend, never replace, the defaults. */
  identities: z
    .strictObject({
      controlPlaneUsers: names.optional(),
      controlPlanePrefixes: names.optional(),
      bootstrapUsers: names.optional(),
      cloudControlPlane: z
        .partialRecord(z.enum(['eks', 'aks', 'gke']), z.strictObject({ users: names.default([]), prefixes: names.default([]) }))
        .optional(),
      csrControllers: names.optional(),
      /** Regular expressions (source text); each must compile. */
      controlPlanePrincipals: z
        .array(
          z.string().refine((re) => {
            try {
              new RegExp(re);
              return true;
            } catch {
              return false;
            }
          }, 'not a valid regular expression'),
        )
        .optional(),
    })
    .optional(),
});

export type DetectionConfig = z.infer<typeof DetectionConfigSchema>;

export interface ResolvedDetectionConfig {
  ruleOptions: Record<string, unknown>;
  identities: IdentityTables;
}

/** Validates raw JSON config; `where` names its origin in messages (a file, an env variable). */
export function resolveDetectionConfig(raw: unknown, rules: readonly AnyRule[], where: string): ResolvedDetectionConfig {
  const result = DetectionConfigSchema.safeParse(raw ?? {});
  if (!result.success) {
    const issues = result.error.issues.map((i) => `${i.path.length > 0 ? i.path.join('.') : '(root)'}: ${i.message}`);
    throw new ConfigError('config-invalid', `${where}: ${issues.join('; ')}.`);
  }
  const config = result.data;
  const known = new Set(rules.map((r) => r.id));
  const ruleOptions = config.rules ?? {};
  for (const id of Object.keys(ruleOptions)) {
    if (!known.has(id)) throw new ConfigError('unknown-rule', `${where}: rules.${id}: no rule has this id. Run \`credwatch rules\` to list them.`);
  }
  const { cloudControlPlane, ...lists } = config.identities ?? {};
  const extra: Partial<IdentityTables> = { ...lists };
  if (cloudControlPlane !== undefined) extra.cloudControlPlane = cloudControlPlane;
  return { ruleOptions, identities: extendIdentityTables(DEFAULT_IDENTITY_TABLES, extra) };
}
