import { asAks, k8sEvent, type K8sAuditEventJson, type K8sEventInit } from '../../../examples/audit-records.js';

/** Log Analytics rows for the AKS fake, rendered from audit Events by the shared builders. */

export type TableName = 'AKSAudit' | 'AKSAuditAdmin' | 'AzureDiagnostics';

export function auditEvent(init: Partial<K8sEventInit> & { auditID: string; time: string }): K8sAuditEventJson {
  return k8sEvent({ verb: 'get', user: 'alice@example.com', resource: 'secrets', namespace: 'prod', name: 'db', ...init });
}

/** A row of `table` for the cluster; AzureDiagnostics rows also get the hidden `_ResourceId`. */
export function rowFor(table: TableName, ev: K8sAuditEventJson, cluster = 'aks-prod-1', category?: 'kube-audit' | 'kube-audit-admin'): Record<string, unknown> {
  if (table === 'AzureDiagnostics') {
    const row = asAks(ev, { cluster, form: 'azure-diagnostics', category: category ?? 'kube-audit' });
    return { ...row, _ResourceId: String(row['ResourceId']).toLowerCase() };
  }
  return asAks(ev, { cluster, form: 'aksaudit', category: table === 'AKSAudit' ? 'kube-audit' : 'kube-audit-admin' });
}
