import { Logging } from '@google-cloud/logging';
import { credentials } from '@grpc/grpc-js';
import { ConfigError } from '../../core/model/errors.js';

/** Building the Cloud Logging client of the GKE sources (audit and runtime). */

export interface GkeClientOptions {
  projects: string[];
  /** `host:port` of a loopback fake; connects without TLS or credentials (tests, CLI `CREDWATCH_GKE_ENDPOINT`). */
  endpoint?: string;
  /** Injected client (tests); otherwise one is built with Application Default Credentials. */
  logging?: Logging;
}

const LOOPBACK = /^(127\.\d+\.\d+\.\d+|localhost|\[::1\]):(\d{1,5})$/;

export function createClient(opts: GkeClientOptions): Logging {
  if (opts.logging !== undefined) return opts.logging;
  const projectId = opts.projects[0]!;
  if (opts.endpoint === undefined) return new Logging({ projectId });
  const m = LOOPBACK.exec(opts.endpoint);
  // Plain-text gRPC without credentials is only acceptable to a local fake or emulator.
  if (m === null) throw new ConfigError('gke-endpoint', `GKE endpoint "${opts.endpoint}" must be a loopback host:port (127.0.0.1:PORT); it is reached without TLS or credentials`);
  const host = m[1] === '[::1]' ? '::1' : m[1]!;
  // `port` is a gax client option the LoggingOptions type does not list. Without an explicit
  // universe domain, gax asks the credentials for theirs, which probes the GCE metadata server:
  // a loopback endpoint must never cause traffic anywhere else.
  const options = { projectId, apiEndpoint: host, port: Number(m[2]), sslCreds: credentials.createInsecure(), universeDomain: 'googleapis.com' };
  return new Logging(options);
}
