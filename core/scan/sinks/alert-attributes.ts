import type { Alert } from '../../model/finding.js';

/**
 * The attributes subscription filter policies match on (docs/architecture.md "Alerts"), shared by the SNS
 * and Pub/Sub sinks; in a module of its own so the Pub/Sub sink does not import the SNS client.
 */
export function alertAttributes(alert: Alert): Record<string, string> {
  return {
    rule: alert.rule,
    severity: alert.severity,
    // SNS and Pub/Sub reject empty attribute values.
    cluster: alert.cluster ?? 'unknown',
  };
}
