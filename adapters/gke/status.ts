import { newOutcome, type Outcome } from '../../core/model/event.js';

/**
 * GKE logs a google.rpc.Status (gRPC code) instead of the HTTP status (https://cloud.google.com/logging/docs/reference/audit/auditlog/rest/Shared.Types/AuditLog).
 * The table maps each code to the HTTP status the API server returned and the Kubernetes reason.
 */
const GRPC_TO_HTTP: ReadonlyMap<number, readonly [http: number, reason: string]> = new Map([
  [1, [499, 'Cancelled']],
  [2, [500, 'Unknown']],
  [3, [400, 'BadRequest']],
  [4, [504, 'Timeout']],
  [5, [404, 'NotFound']],
  [6, [409, 'AlreadyExists']],
  [7, [403, 'Forbidden']],
  [8, [429, 'TooManyRequests']],
  [9, [400, 'BadRequest']],
  [10, [409, 'Conflict']],
  [11, [400, 'BadRequest']],
  [12, [501, 'NotImplemented']],
  [13, [500, 'InternalError']],
  [14, [503, 'ServiceUnavailable']],
  [15, [500, 'InternalError']],
  [16, [401, 'Unauthorized']],
]);

/** Streaming subresources answer with a 101 upgrade. */
const STREAMING = new Set(['exec', 'attach', 'portforward']);

/**
 * `status` of the AuditLog → outcome. 0, `{}` or absent is success (200, or 101 for a streaming
 * subresource). Code 2 UNKNOWN on exec/attach is how GKE logged *working* sessions in 2020
 * captures (sysdig bridge fixtures): success 101. Any other code is a failure.
 */
export function gkeOutcome(status: unknown, subresource: string | undefined): Outcome {
  const s = typeof status === 'object' && status !== null ? (status as Record<string, unknown>) : undefined;
  const raw = s?.['code'];
  const code = typeof raw === 'number' ? raw : 0;
  const message = typeof s?.['message'] === 'string' && s['message'] !== '' ? s['message'] : undefined;
  const streaming = subresource !== undefined && STREAMING.has(subresource);
  let out: Outcome;
  if (code === 0 || (code === 2 && streaming)) {
    out = newOutcome('success');
    out.code = streaming ? 101 : 200;
  } else {
    const mapped = GRPC_TO_HTTP.get(code);
    out = newOutcome('failure');
    out.code = mapped === undefined ? 500 : mapped[0];
    out.reason = mapped === undefined ? 'Unknown' : mapped[1];
  }
  if (message !== undefined) out.message = message;
  return out;
}
