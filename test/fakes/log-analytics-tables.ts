import type { Column, ColumnType } from './log-analytics-kql-eval.js';

/**
 * The documented columns of the tables the AKS fake serves (https://learn.microsoft.com/azure/azure-monitor/reference/tables/aksaudit; the
 * hidden standard columns `_ResourceId` and `_TimeReceived` included, as queries may name them).
 */

const cols = (spec: Record<string, ColumnType>): Column[] => Object.entries(spec).map(([name, type]) => ({ name, type }));

const AKS_AUDIT = cols({
  TenantId: 'string',
  TimeGenerated: 'datetime',
  Level: 'string',
  AuditId: 'string',
  Stage: 'string',
  RequestUri: 'string',
  Verb: 'string',
  User: 'dynamic',
  SourceIps: 'dynamic',
  UserAgent: 'string',
  ObjectRef: 'dynamic',
  ResponseStatus: 'dynamic',
  RequestObject: 'dynamic',
  ResponseObject: 'dynamic',
  RequestReceivedTime: 'datetime',
  StageReceivedTime: 'datetime',
  Annotations: 'dynamic',
  PodName: 'string',
  SourceSystem: 'string',
  Type: 'string',
  _ResourceId: 'string',
  _SubscriptionId: 'string',
  _BilledSize: 'real',
  _IsBillable: 'string',
  _TimeReceived: 'datetime',
});

export const TABLE_COLUMNS: Readonly<Record<string, Column[]>> = Object.freeze({
  AKSAudit: AKS_AUDIT,
  AKSAuditAdmin: AKS_AUDIT,
  AzureDiagnostics: cols({
    TenantId: 'string',
    TimeGenerated: 'datetime',
    ResourceId: 'string',
    Category: 'string',
    ResourceGroup: 'string',
    SubscriptionId: 'string',
    ResourceProvider: 'string',
    Resource: 'string',
    ResourceType: 'string',
    OperationName: 'string',
    log_s: 'string',
    pod_s: 'string',
    stream_s: 'string',
    containerID_s: 'string',
    AdditionalFields: 'dynamic',
    SourceSystem: 'string',
    Type: 'string',
    _ResourceId: 'string',
    _TimeReceived: 'datetime',
  }),
  // Container Insights' container stdout/stderr (a runtime sensor's output lands here).
  ContainerLogV2: cols({
    TenantId: 'string',
    TimeGenerated: 'datetime',
    Computer: 'string',
    ContainerId: 'string',
    ContainerName: 'string',
    PodName: 'string',
    PodNamespace: 'string',
    LogMessage: 'dynamic',
    LogSource: 'string',
    KubernetesMetadata: 'dynamic',
    LogLevel: 'string',
    SourceSystem: 'string',
    Type: 'string',
    _ResourceId: 'string',
    _TimeReceived: 'datetime',
  }),
  AKSControlPlane: cols({
    TimeGenerated: 'datetime',
    Category: 'string',
    Level: 'string',
    Message: 'string',
    PodName: 'string',
    SourceSystem: 'string',
    Type: 'string',
    _ResourceId: 'string',
  }),
});
