import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * AWS STS AssumeRole on the wire (the Query protocol: a form-encoded POST, an XML answer in the
 * 2011-06-15 namespace, errors as <ErrorResponse>), for the real STS client on 127.0.0.1. It
 * records each call with the access key that signed it, and hands out temporary keys that the
 * CloudWatch Logs fake can check requests against.
 */
export interface AssumeRoleCall {
  roleArn: string;
  sessionName: string;
  durationSeconds: number | undefined;
  /** The access key ID in the request's SigV4 Authorization header. */
  signedWith: string | undefined;
}

export class StsFake {
  readonly calls: AssumeRoleCall[] = [];
  /** Role ARN → account allowed to assume it (absent: AccessDenied). */
  readonly roles = new Map<string, true>();
  /** Temporary access key ID → role ARN it was issued for. */
  readonly issued = new Map<string, string>();
  lifetimeSeconds = 3600;
  private server: Server | undefined;

  async start(): Promise<string> {
    this.server = createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        const form = new URLSearchParams(body);
        const xml = (status: number, text: string) => {
          res.writeHead(status, { 'content-type': 'text/xml', 'x-amzn-requestid': 'c6104cbe-af31-11e0-8154-cbc7ccf896c7' });
          res.end(text);
        };
        if (form.get('Action') !== 'AssumeRole' || form.get('Version') !== '2011-06-15') {
          return xml(400, error('InvalidAction', `Could not find operation ${form.get('Action')} for version ${form.get('Version')}`));
        }
        const roleArn = form.get('RoleArn') ?? '';
        const sessionName = form.get('RoleSessionName') ?? '';
        const duration = form.get('DurationSeconds');
        const signedWith = /Credential=([^/]+)\//.exec(String(req.headers['authorization'] ?? ''))?.[1];
        this.calls.push({ roleArn, sessionName, durationSeconds: duration === null ? undefined : Number(duration), signedWith });
        if (!/^[\w+=,.@-]{2,64}$/.test(sessionName)) return xml(400, error('ValidationError', `1 validation error detected: Value '${sessionName}' at 'roleSessionName' failed to satisfy constraint`));
        if (!this.roles.has(roleArn)) return xml(403, error('AccessDenied', `User: ${signedWith} is not authorized to perform: sts:AssumeRole on resource: ${roleArn}`));
        const keyId = `ASIA${randomBytes(8).toString('hex').toUpperCase()}`;
        this.issued.set(keyId, roleArn);
        const account = roleArn.split(':')[4];
        const roleName = roleArn.split('/').at(-1);
        const expiration = new Date(Date.now() + this.lifetimeSeconds * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z');
        xml(200, `<AssumeRoleResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">
  <AssumeRoleResult>
    <AssumedRoleUser>
      <AssumedRoleId>AROA3XFRBF535PLBIFPI4:${sessionName}</AssumedRoleId>
      <Arn>arn:aws:sts::${account}:assumed-role/${roleName}/${sessionName}</Arn>
    </AssumedRoleUser>
    <Credentials>
      <AccessKeyId>${keyId}</AccessKeyId>
      <SecretAccessKey>${randomBytes(20).toString('base64')}</SecretAccessKey>
      <SessionToken>${randomBytes(48).toString('base64')}</SessionToken>
      <Expiration>${expiration}</Expiration>
    </Credentials>
  </AssumeRoleResult>
  <ResponseMetadata>
    <RequestId>c6104cbe-af31-11e0-8154-cbc7ccf896c7</RequestId>
  </ResponseMetadata>
</AssumeRoleResponse>`);
      });
    });
    await new Promise<void>((r) => this.server!.listen(0, '127.0.0.1', () => r()));
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  async stop(): Promise<void> {
    await new Promise<void>((r) => (this.server === undefined ? r() : this.server.close(() => r())));
  }
}

function error(code: string, message: string): string {
  return `<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">
  <Error>
    <Type>Sender</Type>
    <Code>${code}</Code>
    <Message>${message.replace(/&/g, '&amp;').replace(/</g, '&lt;')}</Message>
  </Error>
  <RequestId>c6104cbe-af31-11e0-8154-cbc7ccf896c7</RequestId>
</ErrorResponse>`;
}
