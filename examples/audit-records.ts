import { createHash } from 'node:crypto';

/**
 * Builders for rule examples: one audit.k8s.io/v1 Event, rendered in the raw shape each cloud
 * delivers it in (EKS CloudWatch event, AKS diagnostic record / Log Analytics rows, GKE LogEntry).
 * Examples stay raw cloud records, so they exercise the real parsers; these builders only save
 * typing the envelopes. The GKE rendering drops what GKE does not log (requestURI, groups, stage).
 */

export interface K8sEventInit {
  verb: string;
  user: string;
  groups?: string[];
  extra?: Record<string, string[]>;
  uid?: string;
  resource: string;
  subresource?: string;
  namespace?: string;
  name?: string;
  /** '' for the core group (the default). */
  apiGroup?: string;
  apiVersion?: string;
  /** Full request URI; derived from the target (plus `query`) when absent. */
  requestURI?: string;
  /** Appended to the derived URI in order; repeated keys allowed. */
  query?: Array<[string, string]>;
  code?: number;
  stage?: string;
  level?: string;
  sourceIPs?: string[];
  userAgent?: string;
  requestObject?: unknown;
  responseObject?: unknown;
  /** RFC 3339; defaults to 2026-03-02T09:00:00.000000Z. */
  time?: string;
  auditID?: string;
  annotations?: Record<string, string>;
  impersonatedUser?: { username: string; groups?: string[] };
}

export type K8sAuditEventJson = Record<string, unknown> & {
  auditID: string;
  requestReceivedTimestamp: string;
  stageTimestamp: string;
};

const DEFAULT_TIME = '2026-03-02T09:00:00.000000Z';
export const KUBECTL_UA = 'kubectl/v1.30.2 (linux/amd64) kubernetes/3968350';

function derivedURI(i: K8sEventInit): string {
  const group = i.apiGroup ?? '';
  const version = i.apiVersion ?? 'v1';
  let path = group === '' ? `/api/${version}` : `/apis/${group}/${version}`;
  if (i.namespace !== undefined && i.resource !== 'namespaces') path += `/namespaces/${i.namespace}`;
  path += `/${i.resource}`;
  if (i.name !== undefined) path += `/${i.name}`;
  if (i.subresource !== undefined) path += `/${i.subresource}`;
  if (i.query !== undefined && i.query.length > 0) {
    path += '?' + i.query.map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`).join('&');
  }
  return path;
}

function defaultCode(i: K8sEventInit): number {
  if (i.subresource === 'exec' || i.subresource === 'attach' || i.subresource === 'portforward') return 101;
  return i.verb === 'create' ? 201 : 200;
}

/** A complete audit.k8s.io/v1 Event; the audit ID is a hash of the content unless given. */
export function k8sEvent(i: K8sEventInit): K8sAuditEventJson {
  const code = i.code ?? defaultCode(i);
  const time = i.time ?? DEFAULT_TIME;
  const objectRef: Record<string, string> = { resource: i.resource };
  if (i.namespace !== undefined) objectRef['namespace'] = i.namespace;
  if (i.name !== undefined) objectRef['name'] = i.name;
  if (i.apiGroup !== undefined && i.apiGroup !== '') objectRef['apiGroup'] = i.apiGroup;
  objectRef['apiVersion'] = i.apiVersion ?? 'v1';
  if (i.subresource !== undefined) objectRef['subresource'] = i.subresource;
  const user: Record<string, unknown> = { username: i.user };
  if (i.uid !== undefined) user['uid'] = i.uid;
  user['groups'] = i.groups ?? defaultGroups(i.user);
  if (i.extra !== undefined) user['extra'] = i.extra;
  const responseStatus: Record<string, unknown> = { metadata: {}, code };
  if (code >= 400) {
    responseStatus['status'] = 'Failure';
    responseStatus['reason'] = code === 403 ? 'Forbidden' : code === 404 ? 'NotFound' : code === 409 ? 'AlreadyExists' : 'BadRequest';
  }
  const ev: Record<string, unknown> = {
    kind: 'Event',
    apiVersion: 'audit.k8s.io/v1',
    level: i.level ?? (i.requestObject !== undefined ? 'RequestResponse' : 'Metadata'),
    auditID: '',
    stage: i.stage ?? (code === 101 ? 'ResponseStarted' : 'ResponseComplete'),
    requestURI: i.requestURI ?? derivedURI(i),
    verb: i.verb,
    user,
  };
  if (i.impersonatedUser !== undefined) ev['impersonatedUser'] = i.impersonatedUser;
  ev['sourceIPs'] = i.sourceIPs ?? ['203.0.113.24'];
  ev['userAgent'] = i.userAgent ?? KUBECTL_UA;
  ev['objectRef'] = objectRef;
  ev['responseStatus'] = responseStatus;
  if (i.requestObject !== undefined) ev['requestObject'] = i.requestObject;
  if (i.responseObject !== undefined) ev['responseObject'] = i.responseObject;
  ev['requestReceivedTimestamp'] = time;
  ev['stageTimestamp'] = time;
  ev['annotations'] = i.annotations ?? {
    'authorization.k8s.io/decision': code === 403 ? 'forbid' : 'allow',
    'authorization.k8s.io/reason': code === 403 ? '' : 'RBAC: allowed by ClusterRoleBinding',
  };
  ev['auditID'] = i.auditID ?? uuidFrom(JSON.stringify(ev));
  return ev as K8sAuditEventJson;
}

function defaultGroups(user: string): string[] {
  if (user.startsWith('system:node:')) return ['system:nodes', 'system:authenticated'];
  if (user.startsWith('system:serviceaccount:')) {
    const ns = user.split(':')[2] ?? '';
    return ['system:serviceaccounts', `system:serviceaccounts:${ns}`, 'system:authenticated'];
  }
  if (user === 'system:anonymous') return ['system:unauthenticated'];
  return ['system:authenticated'];
}

function uuidFrom(text: string): string {
  const h = createHash('sha256').update(text).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-8${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

const msOf = (rfc3339: string): number => Date.parse(rfc3339);

/** One item of a CloudWatch Logs `FilterLogEvents` response (and of `aws logs filter-log-events`). */
export function asEks(ev: K8sAuditEventJson, opts: { delayMs?: number } = {}): Record<string, unknown> {
  const ts = msOf(ev.stageTimestamp);
  return {
    logStreamName: 'kube-apiserver-audit-4f1c2a9e8d7b6c5a4f3e2d1c0b9a8f7e',
    timestamp: ts,
    message: JSON.stringify(ev),
    ingestionTime: ts + (opts.delayMs ?? 1_500),
    eventId: `3${String(ts).padStart(55, '0')}`.slice(0, 56),
  };
}

/** A decoded CloudWatch subscription-filter payload (it names the log group, hence the cluster). */
export function asEksSubscription(events: K8sAuditEventJson[], cluster: string): Record<string, unknown> {
  return {
    messageType: 'DATA_MESSAGE',
    owner: '111122223333',
    logGroup: `/aws/eks/${cluster}/cluster`,
    logStream: 'kube-apiserver-audit-4f1c2a9e8d7b6c5a4f3e2d1c0b9a8f7e',
    subscriptionFilters: ['credwatch'],
    logEvents: events.map((ev) => ({ id: String(msOf(ev.stageTimestamp)), timestamp: msOf(ev.stageTimestamp), message: JSON.stringify(ev) })),
  };
}

function aksResourceId(cluster: string): string {
  return `/SUBSCRIPTIONS/00000000-1111-2222-3333-444444444444/RESOURCEGROUPS/RG-${cluster.toUpperCase()}/PROVIDERS/MICROSOFT.CONTAINERSERVICE/MANAGEDCLUSTERS/${cluster.toUpperCase()}`;
}

export type AksForm = 'diagnostic' | 'azure-diagnostics' | 'aksaudit';

/**
 * AKS renderings: a diagnostic-settings record (Event Hub / storage export), an `AzureDiagnostics`
 * row, or an `AKSAudit` row as `az monitor log-analytics query -o json` prints it (dynamic
 * columns as JSON strings).
 */
export function asAks(
  ev: K8sAuditEventJson,
  opts: { cluster?: string; form?: AksForm; category?: 'kube-audit' | 'kube-audit-admin' } = {},
): Record<string, unknown> {
  const cluster = opts.cluster ?? 'aks-prod-1';
  const category = opts.category ?? 'kube-audit';
  const log = JSON.stringify(ev);
  switch (opts.form ?? 'diagnostic') {
    case 'diagnostic':
      return {
        time: ev.stageTimestamp,
        resourceId: aksResourceId(cluster),
        category,
        operationName: 'Microsoft.ContainerService/managedClusters/diagnosticLogs/Read',
        properties: { log: `${log}\n`, stream: 'stdout', pod: 'kube-apiserver-5d8f7c6b9-x2x4p', containerID: 'c0ffee' },
      };
    case 'azure-diagnostics':
      return {
        TenantId: '55555555-6666-7777-8888-999999999999',
        TimeGenerated: ev.stageTimestamp,
        ResourceId: aksResourceId(cluster),
        Category: category,
        ResourceProvider: 'MICROSOFT.CONTAINERSERVICE',
        Resource: cluster.toUpperCase(),
        ResourceType: 'MANAGEDCLUSTERS',
        OperationName: 'Microsoft.ContainerService/managedClusters/diagnosticLogs/Read',
        log_s: log,
        pod_s: 'kube-apiserver-5d8f7c6b9-x2x4p',
        stream_s: 'stdout',
        SourceSystem: 'Azure',
        Type: 'AzureDiagnostics',
      };
    case 'aksaudit': {
      const js = (v: unknown): string => (v === undefined ? '' : JSON.stringify(v));
      return {
        TenantId: '55555555-6666-7777-8888-999999999999',
        TimeGenerated: ev.stageTimestamp,
        Level: ev['level'],
        AuditId: ev.auditID,
        Stage: ev['stage'],
        RequestUri: ev['requestURI'],
        Verb: ev['verb'],
        User: js(ev['user']),
        SourceIps: js(ev['sourceIPs']),
        UserAgent: ev['userAgent'],
        ObjectRef: js(ev['objectRef']),
        ResponseStatus: js(ev['responseStatus']),
        RequestObject: js(ev['requestObject']),
        ResponseObject: js(ev['responseObject']),
        RequestReceivedTime: ev.requestReceivedTimestamp,
        StageReceivedTime: ev.stageTimestamp,
        Annotations: js(ev['annotations']),
        PodName: 'kube-apiserver-5d8f7c6b9-x2x4p',
        SourceSystem: 'Azure',
        Type: category === 'kube-audit' ? 'AKSAudit' : 'AKSAuditAdmin',
        _ResourceId: aksResourceId(cluster).toLowerCase(),
      };
    }
  }
}

const GRPC_OF_HTTP: Record<number, number> = { 400: 3, 401: 16, 403: 7, 404: 5, 409: 6, 422: 3, 429: 8, 500: 13, 503: 14 };

/** The `@type` GKE gives a request body, e.g. `certificates.k8s.io/v1.CertificateSigningRequest`. */
function bodyType(ev: K8sAuditEventJson, body: unknown): string | undefined {
  if (body === null || typeof body !== 'object') return undefined;
  const b = body as Record<string, unknown>;
  const kind = typeof b['kind'] === 'string' ? b['kind'] : undefined;
  const apiVersion = typeof b['apiVersion'] === 'string' ? b['apiVersion'] : undefined;
  if (kind === undefined) return ev['verb'] === 'patch' ? 'k8s.io/Patch' : undefined;
  const av = apiVersion ?? 'v1';
  return `${av.includes('/') ? av : `core/${av}`}.${kind}`;
}

/** A GKE Cloud Logging LogEntry (entries.list / `gcloud logging read --format=json` item). */
export function asGke(
  ev: K8sAuditEventJson,
  opts: { cluster?: string; project?: string; location?: string; delayMs?: number } = {},
): Record<string, unknown> {
  const cluster = opts.cluster ?? 'gke-prod-1';
  const project = opts.project ?? 'acme-prod';
  const ref = (ev['objectRef'] ?? {}) as Record<string, string>;
  const user = (ev['user'] ?? {}) as Record<string, unknown>;
  const status = (ev['responseStatus'] ?? {}) as Record<string, unknown>;
  const verb = String(ev['verb']);
  const group = ref['apiGroup'] ?? '';
  const groupPath = group === '' ? 'core' : group;
  const parts = [groupPath, ref['apiVersion'] ?? 'v1'];
  if (ref['namespace'] !== undefined && ref['resource'] !== 'namespaces') parts.push('namespaces', ref['namespace']);
  parts.push(ref['resource'] ?? '');
  if (ref['name'] !== undefined) parts.push(ref['name']);
  if (ref['subresource'] !== undefined) parts.push(ref['subresource']);
  const resourceName = parts.join('/');
  const methodGroup = group === '' ? 'core' : group.replace(/\.k8s\.io$/, '').split('.').reverse().join('.');
  const method = ['io.k8s', methodGroup, ref['apiVersion'] ?? 'v1', ref['resource'], ref['subresource'], verb]
    .filter((s) => s !== undefined && s !== '')
    .join('.');
  const code = typeof status['code'] === 'number' ? status['code'] : 200;
  const grpc = code >= 400 ? (GRPC_OF_HTTP[code] ?? 2) : undefined;
  const read = verb === 'get' || verb === 'list' || verb === 'watch';
  const extra = (user['extra'] ?? {}) as Record<string, string[]>;
  const labels: Record<string, string> = {};
  const annotations = (ev['annotations'] ?? {}) as Record<string, string>;
  for (const [k, v] of Object.entries(annotations)) labels[k] = v;
  const credId = extra['authentication.kubernetes.io/credential-id']?.[0];
  if (credId !== undefined) labels['authentication.kubernetes.io/credential-id'] = credId;
  const payload: Record<string, unknown> = {
    '@type': 'type.googleapis.com/google.cloud.audit.AuditLog',
    authenticationInfo: user['username'] === 'system:anonymous' ? {} : { principalEmail: user['username'] },
    authorizationInfo: [{ granted: code !== 403, permission: method.replace(/\.(\w+)$/, '.$1'), resource: resourceName }],
    methodName: method,
    requestMetadata: {
      callerIp: ((ev['sourceIPs'] as string[] | undefined) ?? [])[0],
      callerSuppliedUserAgent: ev['userAgent'],
    },
    resourceName,
    serviceName: 'k8s.io',
  };
  if (grpc !== undefined) payload['status'] = { code: grpc, message: String(status['reason'] ?? 'Forbidden') };
  else payload['status'] = {};
  if (ev['requestObject'] !== undefined) {
    const t = bodyType(ev, ev['requestObject']);
    payload['request'] = { ...(t === undefined ? {} : { '@type': t }), ...(ev['requestObject'] as object) };
  }
  if (ev['responseObject'] !== undefined) {
    const t = bodyType(ev, ev['responseObject']);
    payload['response'] = { ...(t === undefined ? {} : { '@type': t }), ...(ev['responseObject'] as object) };
  }
  const ts = ev.stageTimestamp;
  return {
    insertId: ev.auditID,
    logName: `projects/${project}/logs/cloudaudit.googleapis.com%2F${read ? 'data_access' : 'activity'}`,
    operation: { first: true, id: ev.auditID, last: true, producer: 'k8s.io' },
    protoPayload: payload,
    receiveTimestamp: new Date(msOf(ts) + (opts.delayMs ?? 2_000)).toISOString(),
    resource: { labels: { cluster_name: cluster, location: opts.location ?? 'europe-west1', project_id: project }, type: 'k8s_cluster' },
    severity: grpc === undefined ? 'NOTICE' : 'ERROR',
    timestamp: ts,
    labels,
  };
}
