/**
 * The envelope of Panther's AKS test records (panther-analysis rules/kubernetes_rules/*.yml): an
 * Azure Monitor kube-audit record whose properties.log is the audit Event as compact JSON text.
 * Keys come in the order Panther writes them; `p_log_type` and the trailing fields are there only
 * where Panther's record has them, so a record built here is the one in Panther's file.
 */
export function asPantherAks(
  event: Record<string, unknown>,
  o: { logType?: boolean; sourceLabel?: string; time?: string } = {},
): Record<string, unknown> {
  return {
    ...(o.logType === false ? {} : { p_log_type: 'Azure.MonitorActivity' }),
    category: 'kube-audit',
    operationName: 'Microsoft.ContainerService/managedClusters/diagnosticLogs/Read',
    properties: { log: JSON.stringify(event) },
    ...(o.sourceLabel === undefined ? {} : { p_source_label: o.sourceLabel }),
    ...(o.time === undefined ? {} : { time: o.time }),
  };
}

/**
 * Panther's EKS test records (panther-analysis rules/kubernetes_rules/*.yml): the audit Event's
 * own keys, then `p_log_type`, `p_source_label` where the record has one, and the time.
 */
export function asPantherEks(event: Record<string, unknown>, o: { sourceLabel?: string; time: string }): Record<string, unknown> {
  return {
    ...event,
    p_log_type: 'Amazon.EKS.Audit',
    ...(o.sourceLabel === undefined ? {} : { p_source_label: o.sourceLabel }),
    requestReceivedTimestamp: o.time,
  };
}
