import { GetSecretValueCommand, type SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { writeFile } from 'node:fs/promises';
import * as z from 'zod';
import { ConfigError } from '../../core/model/errors.js';
import type { SourceSpec } from '../shared/runtime-config.js';

/**
 * Credentials the Lambda needs for the other clouds, kept in one Secrets Manager secret:
 * `{"azure":{"tenantId","clientId","clientSecret"},"gcp":{"serviceAccountKey":{…}}}`. They are
 * handed to the clouds' standard credential chains (Azure's EnvironmentCredential, Google's
 * GOOGLE_APPLICATION_CREDENTIALS), so the adapters need no Lambda-specific code.
 *
 * Each key is read only when a source of its cloud is built, and a problem with it fails only
 * those sources: EKS never waits on the secret, and an unfilled `gcp` key does not stop AKS.
 */
export type CredentialCloud = 'azure' | 'gcp';

const AzureSchema = z.strictObject({ tenantId: z.string(), clientId: z.string(), clientSecret: z.string() });
const GcpSchema = z.strictObject({ serviceAccountKey: z.record(z.string(), z.unknown()) });

const SHAPE: Record<CredentialCloud, string> = {
  azure: '"azure":{"tenantId":"…","clientId":"…","clientSecret":"…"}',
  gcp: '"gcp":{"serviceAccountKey":{…the service account\'s JSON key…}}',
};
const NEEDED_BY: Record<CredentialCloud, string> = { azure: 'AKS', gcp: 'GKE' };

/** The cloud whose credentials a source needs from the secret; EKS uses the function's own role. */
export function credentialCloudOf(spec: SourceSpec): CredentialCloud | undefined {
  if (spec.cloud === 'aks' || spec.cloud === 'aks-runtime') return 'azure';
  if (spec.cloud === 'gke' || spec.cloud === 'gke-runtime') return 'gcp';
  return undefined;
}

/** What the stack puts in a new secret: one key per configured cloud, every value still empty. */
export function credentialsTemplate(clouds: { azure: boolean; gcp: boolean }): Record<string, unknown> {
  return {
    ...(clouds.azure ? { azure: { tenantId: '', clientId: '', clientSecret: '' } } : {}),
    ...(clouds.gcp ? { gcp: { serviceAccountKey: {} } } : {}),
  };
}

export function credentialsTemplateKeys(config: { aksWorkspaces: unknown[]; gkeProjects: unknown[] }): string[] {
  return [...(config.aksWorkspaces.length > 0 ? ['azure'] : []), ...(config.gkeProjects.length > 0 ? ['gcp'] : [])];
}

/** Lambda's only writable directory. */
const GCP_KEY_PATH = '/tmp/credwatch-gcp-key.json';

export class CloudCredentials {
  private document: Promise<Record<string, unknown>> | undefined;
  private readonly applied = new Set<CredentialCloud>();

  constructor(
    private readonly client: SecretsManagerClient,
    private readonly secretArn: string,
    private readonly env: Record<string, string | undefined>,
    private readonly keyPath = GCP_KEY_PATH,
  ) {}

  /** Puts `cloud`'s credentials where its SDK looks, or throws a ConfigError naming the secret and the key. */
  async ensure(cloud: CredentialCloud): Promise<void> {
    if (this.applied.has(cloud)) return;
    this.document ??= this.read();
    let doc: Record<string, unknown>;
    try {
      doc = await this.document;
    } catch (err) {
      // Not cached: the next run reads the secret again (it may have been filled in meanwhile).
      this.document = undefined;
      throw err;
    }
    const where = `the credentials secret ${this.secretArn}`;
    const raw = doc[cloud];
    if (raw === undefined) {
      throw new ConfigError('secret-key-missing', `${where} has no "${cloud}" key, which the ${NEEDED_BY[cloud]} sources need: add ${SHAPE[cloud]}.`);
    }
    if (cloud === 'azure') {
      const parsed = AzureSchema.safeParse(raw);
      if (!parsed.success) throw new ConfigError('secret-invalid', `${where}: "azure" must be {"tenantId","clientId","clientSecret"} (${issues(parsed.error, 'azure')}).`);
      const empty = (['tenantId', 'clientId', 'clientSecret'] as const).filter((k) => parsed.data[k].trim() === '');
      if (empty.length > 0) throw new ConfigError('secret-unfilled', `${where}: ${empty.map((k) => `azure.${k}`).join(', ')} ${empty.length > 1 ? 'are' : 'is'} empty: fill in the app registration's values (docs/deploy.md).`);
      this.env['AZURE_TENANT_ID'] = parsed.data.tenantId;
      this.env['AZURE_CLIENT_ID'] = parsed.data.clientId;
      this.env['AZURE_CLIENT_SECRET'] = parsed.data.clientSecret;
    } else {
      const parsed = GcpSchema.safeParse(raw);
      if (!parsed.success) throw new ConfigError('secret-invalid', `${where}: "gcp" must be {"serviceAccountKey":{…}} (${issues(parsed.error, 'gcp')}).`);
      const key = parsed.data.serviceAccountKey;
      if (Object.keys(key).length === 0) throw new ConfigError('secret-unfilled', `${where}: gcp.serviceAccountKey is empty: paste the service account's JSON key there (docs/deploy.md).`);
      const missing = ['type', 'client_email', 'private_key'].filter((k) => typeof key[k] !== 'string' || key[k] === '');
      if (key['type'] === 'service_account' && missing.length > 0) {
        throw new ConfigError('secret-invalid', `${where}: gcp.serviceAccountKey lacks ${missing.join(', ')}: paste the whole JSON key file of the service account.`);
      }
      if (typeof key['type'] !== 'string') throw new ConfigError('secret-invalid', `${where}: gcp.serviceAccountKey has no "type": paste the whole JSON key file of the service account.`);
      await writeFile(this.keyPath, JSON.stringify(key), { mode: 0o600 });
      this.env['GOOGLE_APPLICATION_CREDENTIALS'] = this.keyPath;
    }
    this.applied.add(cloud);
  }

  private async read(): Promise<Record<string, unknown>> {
    let text: string | undefined;
    try {
      text = (await this.client.send(new GetSecretValueCommand({ SecretId: this.secretArn }))).SecretString;
    } catch (err) {
      const name = (err as { name?: string }).name ?? 'Error';
      throw new ConfigError('secret-unreadable', `Cannot read the credentials secret ${this.secretArn} (${name}): grant secretsmanager:GetSecretValue on it to the function's role.`, { cause: err });
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(text ?? '');
    } catch (err) {
      throw new ConfigError('secret-invalid', `The credentials secret ${this.secretArn} is not JSON (${(err as Error).message.split('\n')[0]}): put {${SHAPE.azure}, ${SHAPE.gcp}} in it, with the keys of the clouds you scan.`);
    }
    if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
      throw new ConfigError('secret-invalid', `The credentials secret ${this.secretArn} must be a JSON object like {${SHAPE.azure}, ${SHAPE.gcp}}.`);
    }
    return parsed as Record<string, unknown>;
  }
}

function issues(error: z.ZodError, prefix: string): string {
  return error.issues.map((i) => `${[prefix, ...i.path].join('.')}: ${i.message}`).join('; ');
}
