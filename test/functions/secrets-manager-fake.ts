import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * Secrets Manager's GetSecretValue on the wire (AWS JSON 1.1: POST /, X-Amz-Target
 * secretsmanager.GetSecretValue, errors as {"__type": …}), for the real SDK client on loopback.
 */
export class SecretsManagerFake {
  readonly secrets = new Map<string, string>();
  readonly denied = new Set<string>();
  requests = 0;
  private server: Server | undefined;

  async start(): Promise<string> {
    this.server = createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        this.requests++;
        const send = (status: number, doc: unknown) => {
          res.writeHead(status, { 'content-type': 'application/x-amz-json-1.1' });
          res.end(JSON.stringify(doc));
        };
        if (req.headers['x-amz-target'] !== 'secretsmanager.GetSecretValue') return send(400, { __type: 'InvalidAction', message: 'only GetSecretValue' });
        const id = (JSON.parse(body) as { SecretId: string }).SecretId;
        if (this.denied.has(id)) return send(400, { __type: 'AccessDeniedException', Message: `not authorized to perform secretsmanager:GetSecretValue on ${id}` });
        const value = this.secrets.get(id);
        if (value === undefined) return send(400, { __type: 'ResourceNotFoundException', Message: "Secrets Manager can't find the specified secret." });
        send(200, { ARN: id, Name: id.split(':').at(-1), SecretString: value, VersionId: 'v1', VersionStages: ['AWSCURRENT'], CreatedDate: 1.7e9 });
      });
    });
    await new Promise<void>((r) => this.server!.listen(0, '127.0.0.1', () => r()));
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  async stop(): Promise<void> {
    await new Promise<void>((r) => (this.server === undefined ? r() : this.server.close(() => r())));
  }
}
