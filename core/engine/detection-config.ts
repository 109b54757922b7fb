import type { IdentityTables } from '../model/identity-tables.js';
import * as z from 'zod';
import { ConfigError } from '../model/errors.js';
import { DEFAULT_IDENTITY_TABLES, extendIdentityTables } from '../detection/identity.js';
import type { AnyRule } from '../model/rule.js';

/**
 * Deployment configuration of the detection itself, shared by the CLI (`--config FILE`) and the
 * scheduled functions (`CREDWATCH_CONFIG`). Rule options are validated by each rule's own schema
 * when the engine is built; here only their container, and that every id names a rule.
 */
const names = z.array(z.string().min(1));

export const DetectionConfigSchema = z.strictObject({
  rules: z.record(z.string(), z.record(z.string(), z.unknown())).optional(),
  /** Added to the built-in identity tables (core/detection/identity.ts): they extend, never replace, the defaults. */
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
  const ruleOptions = config.rules ?? {};
  for (const [id, value] of Object.entries(ruleOptions)) {
    const rule = rules.find((r) => r.id === id);
    if (rule === undefined) throw new ConfigError('unknown-rule', `${where}: rules.${id}: no rule has this id. Run \`credwatch rules\` to list them.`);
    const unknown = unknownKeys(rule.options, value, ['rules', id]);
    if (unknown.length > 0) {
      const listed = unknown.map((u) => `${u.path}: unknown option${u.known.length > 0 ? ` (known: ${u.known.join(', ')})` : ''}`);
      throw new ConfigError('unknown-option', `${where}: ${listed.join('; ')}.`);
    }
  }
  const { cloudControlPlane, ...lists } = config.identities ?? {};
  const extra: Partial<IdentityTables> = { ...lists };
  if (cloudControlPlane !== undefined) extra.cloudControlPlane = cloudControlPlane;
  return { ruleOptions, identities: extendIdentityTables(DEFAULT_IDENTITY_TABLES, extra) };
}

/** A key the schema does not define, with the keys it does define at that level. */
export interface UnknownKey {
  path: string;
  known: string[];
}

type SchemaDef = {
  type: string;
  shape?: Record<string, z.ZodType>;
  innerType?: z.ZodType;
  element?: z.ZodType;
  valueType?: z.ZodType;
  in?: z.ZodType;
  catchall?: z.ZodType;
};

/**
 * Keys of `value` that `schema` does not define, at every depth. Rule option schemas are plain
 * zod objects, which drop unknown keys silently: a typo (`thresh` for `threshold`) would fall back
 * to the default without a word. The walk reads zod's schema definition, so each rule keeps
 * writing ordinary `z.object` schemas.
 */
export function unknownKeys(schema: z.ZodType | undefined, value: unknown, path: readonly string[]): UnknownKey[] {
  if (schema === undefined || value === null || typeof value !== 'object') return [];
  const def = (schema as unknown as { _zod: { def: SchemaDef } })._zod.def;
  const at = (k: string | number): string[] => [...path, String(k)];
  switch (def.type) {
    case 'optional':
    case 'nullable':
    case 'default':
    case 'prefault':
    case 'readonly':
    case 'catch':
    case 'nonoptional':
      return unknownKeys(def.innerType, value, path);
    case 'pipe':
      return unknownKeys(def.in, value, path);
    case 'array':
      return Array.isArray(value) ? value.flatMap((v, i) => unknownKeys(def.element, v, at(i))) : [];
    case 'record':
      return Object.entries(value).flatMap(([k, v]) => unknownKeys(def.valueType, v, at(k)));
    case 'object': {
      const shape = def.shape ?? {};
      const known = Object.keys(shape);
      return Object.entries(value).flatMap(([k, v]) => {
        const field = shape[k];
        if (field !== undefined) return unknownKeys(field, v, at(k));
        // A catchall (or passthrough) schema accepts any extra key on purpose.
        const catchall = def.catchall === undefined ? undefined : (def.catchall as unknown as { _zod: { def: SchemaDef } })._zod.def.type;
        if (catchall !== undefined && catchall !== 'never') return [];
        return [{ path: at(k).join('.'), known }];
      });
    }
    default:
      return [];
  }
}
