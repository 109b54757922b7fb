import type { CoverageNotice } from '../../core/model/source.js';
import type { AksTableSource } from './filter.js';

/**
 * What a window's probe says about the workspace: which tables to read and what the scan cannot
 * see. `kube-audit` (AKSAudit) holds every request, `kube-audit-admin` (AKSAuditAdmin) only
 * those that are not get/list/watch (docs/source-aks.md), so with both routed only the full
 * one is read (reading both would count admin requests twice), and with only the admin one the
 * Secret-read rules are blind and the scan says so.
 */

export interface ProbeCount {
  /** The table (`Type`): AKSAudit, AKSAuditAdmin or AzureDiagnostics. */
  type: string;
  /** AzureDiagnostics category; empty for the resource-specific tables. */
  category: string;
  rows: number;
}

export interface CoverageDecision {
  sources: AksTableSource[];
  notices: CoverageNotice[];
}

export const ADMIN_ONLY_NOTICE = 'aks-kube-audit-admin-only';

function rowsOf(counts: readonly ProbeCount[], type: string, category = ''): number {
  return counts.filter((c) => c.type === type && (category === '' || c.category === category)).reduce((n, c) => n + c.rows, 0);
}

export function coverageOf(counts: readonly ProbeCount[], sourceName: string): CoverageDecision {
  const full: AksTableSource[] = [];
  const admin: AksTableSource[] = [];
  if (rowsOf(counts, 'AKSAudit') > 0) full.push({ layout: 'resource-specific', table: 'AKSAudit' });
  if (rowsOf(counts, 'AzureDiagnostics', 'kube-audit') > 0) full.push({ layout: 'azure-diagnostics', table: 'AzureDiagnostics', category: 'kube-audit' });
  if (rowsOf(counts, 'AKSAuditAdmin') > 0) admin.push({ layout: 'resource-specific', table: 'AKSAuditAdmin' });
  if (rowsOf(counts, 'AzureDiagnostics', 'kube-audit-admin') > 0) {
    admin.push({ layout: 'azure-diagnostics', table: 'AzureDiagnostics', category: 'kube-audit-admin' });
  }
  if (full.length > 0 || admin.length === 0) return { sources: full, notices: [] };
  const where = admin.map((s) => (s.layout === 'resource-specific' ? 'table AKSAuditAdmin' : 'AzureDiagnostics category kube-audit-admin')).join(' and ');
  return {
    sources: admin,
    notices: [
      {
        code: ADMIN_ONLY_NOTICE,
        message:
          `${sourceName}: only kube-audit-admin logs reach the workspace (${where}); they leave out get, list and watch, ` +
          'so rules on Secret reads cannot fire. In the cluster\'s diagnostic setting (Monitoring > Diagnostic settings), ' +
          'enable the "kube-audit" category (it includes everything kube-audit-admin has; keep only one of the two).',
      },
    ],
  };
}
