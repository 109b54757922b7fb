import { GetSecretValueCommand, type SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { writeFile } from 'node:fs/promises';
import { z } from 'zod';
import { ConfigError } from '../../core/errors.js';

/**
 * Credentials the Lambda needs for the other clouds, kept in one Secrets Manager secret:
 * `{"azure":{"tenantId","clientId","clientSecret"},"gcp":{"serviceAccountKey":{…}}}`. They are
 * handed to the clouds' standard credential chains (Azure's EnvironmentCredential, Google's
 * GOOGLE_APPLICATION_CREDENTIALS), so the adapters need no Lambda-specific code.
 */
const SecretSchema = z.strictObject({
  azure: z.strictObject({ tenantId: z.string().min(1), clientId: z.string().min(1), clientSecret: z.string().min(1) }).optional(),
  gcp: z.strictObject({ serviceAccountKey: z.record(z.string(), z.unknown()) }).optional(),
});

/** Lambda's only writable directory. */
const GCP_KEY_PATH = '/tmp/credwatch-gcp-key.json';

export async function applyCloudCredentials(
  client: SecretsManagerClient,
  secretArn: string,
  env: Record<string, string | undefined>,
  keyPath = GCP_KEY_PATH,
): Promise<string[]> {
  let text: string | undefined;
  try {
    text = (await client.send(new GetSecretValueCommand({ SecretId: secretArn }))).SecretString;
  } catch (err) {
    const name = (err as { name?: string }).name ?? 'Error';
    throw new ConfigError('secret-unreadable', `Cannot read the credentials secret ${secretArn} (${name}): grant secretsmanager:GetSecretValue on it to the function's role, or unset CREDWATCH_CREDENTIALS_SECRET_ARN.`, { cause: err });
  }
  let parsed: z.infer<typeof SecretSchema>;
  try {
    parsed = SecretSchema.parse(JSON.parse(text ?? ''));
  } catch (err) {
    throw new ConfigError('secret-invalid', `The credentials secret ${secretArn} must be JSON like {"azure":{"tenantId","clientId","clientSecret"},"gcp":{"serviceAccountKey":{…}}} (${(err as Error).message.split('\n')[0]}).`);
  }
  const applied: string[] = [];
  if (parsed.azure !== undefined) {
    env['AZURE_TENANT_ID'] = parsed.azure.tenantId;
    env['AZURE_CLIENT_ID'] = parsed.azure.clientId;
    env['AZURE_CLIENT_SECRET'] = parsed.azure.clientSecret;
    applied.push('azure');
  }
  if (parsed.gcp !== undefined) {
    await writeFile(keyPath, JSON.stringify(parsed.gcp.serviceAccountKey), { mode: 0o600 });
    env['GOOGLE_APPLICATION_CREDENTIALS'] = keyPath;
    applied.push('gcp');
  }
  return applied;
}
