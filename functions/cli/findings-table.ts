import stringWidth from 'string-width';
import wrapAnsi from 'wrap-ansi';
import type { Alert } from '../../core/model/finding.js';
import { severityRank, type Severity } from '../../core/model/severity.js';
import { paintBold, paintDim, paintSeverity, type TerminalStyle } from './terminal.js';

/**
 * The findings table of `scan` and `watch`. Findings are grouped by the request (or runtime
 * event) that raised them: one header line says who did what, from where, at the highest severity
 * of the group; one line per rule follows with that rule's own severity and summary. One CSR
 * approval that three rules judge is one group, not three unrelated rows.
 *
 * Summaries are wrapped within their own column when the terminal is wide enough, and put under
 * the rule (a two-line layout) when it is not; with no width (a pipe) nothing is wrapped, so each
 * line stays whole for grep.
 */

/** A rule line's summary gets its own column only when that column would be at least this wide. */
const MIN_SUMMARY_COLUMN = 40;
const SEVERITY_WIDTH = 'CRITICAL'.length;
const RULE_INDENT = 2;
const SUMMARY_UNDER_RULE_INDENT = 4;

export interface FindingGroup {
  key: string;
  alerts: Alert[];
}

/** Seconds precision is what a person reads; the full time stays in the JSON alert. */
export function shortTime(iso: string): string {
  return iso.replace(/\.\d+(Z|[+-]\d{2}:\d{2})$/, '$1');
}

/** The request a finding is about: the cluster and the audit ID (or the runtime event's id). */
export function requestKey(a: Alert): string {
  return `${a.cluster ?? ''}\u0000${a.event.id}`;
}

/** Groups in time order; inside a group the most severe rule comes first. */
export function groupFindings(alerts: readonly Alert[]): FindingGroup[] {
  const groups = new Map<string, Alert[]>();
  for (const a of alerts) {
    const key = requestKey(a);
    const list = groups.get(key);
    if (list === undefined) groups.set(key, [a]);
    else list.push(a);
  }
  const out = [...groups.entries()].map(([key, list]) => ({ key, alerts: sortWithinGroup(list) }));
  return out.sort(
    (a, b) =>
      Date.parse(groupTime(a)) - Date.parse(groupTime(b)) ||
      severityRank(topSeverity(b)) - severityRank(topSeverity(a)) ||
      a.key.localeCompare(b.key),
  );
}

function sortWithinGroup(list: Alert[]): Alert[] {
  return [...list].sort((a, b) => severityRank(b.severity) - severityRank(a.severity) || a.rule.localeCompare(b.rule) || a.id.localeCompare(b.id));
}

function groupTime(g: FindingGroup): string {
  return g.alerts.reduce((t, a) => (Date.parse(a.time) < Date.parse(t) ? a.time : t), g.alerts[0]!.time);
}

export function topSeverity(g: FindingGroup): Severity {
  return g.alerts[0]!.severity;
}

/** `user verb resource/sub ns/name from IP`, or for a runtime event what the process did. */
export function describeRequest(a: Alert): string {
  const e = a.event;
  const who = e.user.name ?? '(no user)';
  const r = e.runtime;
  if (r !== undefined) {
    const file = r.file?.path ?? r.rename?.from;
    const pod = [e.target.namespace, e.target.name].filter((x) => x !== undefined).join('/');
    const proc = r.process.executable ?? r.process.name;
    return `${proc} (${r.processUser ?? who}) ${e.verb}${file === undefined ? '' : ` ${file}`}${pod === '' ? '' : ` in pod ${pod}`}${r.node === null ? '' : ` on ${r.node}`}`;
  }
  const t = e.target;
  const resource = `${t.resource ?? '?'}${t.subresource === undefined || t.subresource === '' ? '' : `/${t.subresource}`}`;
  const ns = t.namespace !== undefined && t.namespace !== '' ? t.namespace : undefined;
  const name = t.name !== undefined && t.name !== '' ? t.name : undefined;
  const object =
    name !== undefined ? ` ${ns === undefined ? '' : `${ns}/`}${name}` : ns !== undefined ? ` in namespace ${ns}` : e.verb === 'list' || e.verb === 'watch' ? ' in all namespaces' : '';
  const from = e.sourceIPs.length > 0 ? ` from ${e.sourceIPs.join(', ')}` : '';
  const code = e.outcome.code;
  const denied = e.outcome.result === 'failure' || code === 401 || code === 403 ? ` (denied${code === undefined ? '' : `, ${code}`})` : '';
  return `${who} ${e.verb} ${resource}${object}${from}${denied}`;
}

export interface TableLayout {
  style: TerminalStyle;
  /** Width of the rule column: the longest rule id to be shown (so streamed groups align too). */
  ruleWidth: number;
  /** Width of the cluster column in the header lines; 0 leaves it unpadded (streaming). */
  clusterWidth?: number;
}

export function layoutFor(alerts: readonly Alert[], style: TerminalStyle): TableLayout {
  return {
    style,
    ruleWidth: Math.max(4, ...alerts.map((a) => a.rule.length)),
    clusterWidth: Math.max(1, ...alerts.map((a) => (a.cluster ?? '-').length)),
  };
}

const pad = (text: string, width: number): string => text + ' '.repeat(Math.max(0, width - stringWidth(text)));

/** `text` wrapped to `width` columns, every line after the first starting at column `indent`. */
function hang(text: string, indent: number, width: number | undefined): string {
  if (width === undefined || width - indent < 10) return text;
  const lines = wrapAnsi(text, width - indent, { hard: true, trim: true }).split('\n');
  return lines.map((l, i) => (i === 0 ? l : ' '.repeat(indent) + l)).join('\n');
}

/** One group: its header line and its rule lines, each ending in a newline. */
export function renderGroup(g: FindingGroup, layout: TableLayout): string {
  const { style } = layout;
  const first = g.alerts[0]!;
  const sev = topSeverity(g);
  const cluster = first.cluster ?? '-';
  const headCells = [
    paintSeverity(style, sev, pad(sev.toUpperCase(), SEVERITY_WIDTH)),
    shortTime(groupTime(g)),
    layout.clusterWidth === undefined || layout.clusterWidth === 0 ? cluster : pad(cluster, layout.clusterWidth),
  ];
  const headPrefix = headCells.join('  ') + '  ';
  const headIndent = stringWidth(headPrefix);
  const request = describeRequest(first);
  const width = style.width;
  let out: string;
  if (width !== undefined && width - headIndent < MIN_SUMMARY_COLUMN) {
    // Narrow: time, cluster and request flow together and continue under the time column, so the
    // request gets nearly the whole width instead of a sliver right of the cluster.
    const hangAt = SEVERITY_WIDTH + 2;
    out = `${headCells[0]}  ${hang(`${headCells.slice(1).join('  ')}  ${paintBold(style, request)}`, hangAt, width)}\n`;
  } else {
    out = headPrefix + hang(paintBold(style, request), headIndent, width) + '\n';
  }
  const ruleIndent = RULE_INDENT + layout.ruleWidth + 2 + SEVERITY_WIDTH + 2;
  const underRule = width !== undefined && width - ruleIndent < MIN_SUMMARY_COLUMN;
  for (const a of g.alerts) {
    const prefix = `${' '.repeat(RULE_INDENT)}${pad(a.rule, layout.ruleWidth)}  ${paintSeverity(style, a.severity, pad(a.severity, SEVERITY_WIDTH))}  `;
    if (underRule) {
      out += prefix.trimEnd() + '\n' + ' '.repeat(SUMMARY_UNDER_RULE_INDENT) + hang(a.summary, SUMMARY_UNDER_RULE_INDENT, width) + '\n';
    } else {
      out += prefix + hang(a.summary, ruleIndent, width) + '\n';
    }
  }
  return out;
}

/** The whole table of a scan: a legend line, then each group separated by a blank line. */
export function renderFindings(alerts: readonly Alert[], style: TerminalStyle): string {
  const layout = layoutFor(alerts, style);
  const groups = groupFindings(alerts);
  const legend = paintDim(style, `${alerts.length} finding${alerts.length === 1 ? '' : 's'} in ${groups.length} request${groups.length === 1 ? '' : 's'}: a line per request (severity, time, cluster, who did what), then the rules it raised`);
  return [hang(legend, 0, style.width) + '\n', ...groups.map((g) => renderGroup(g, layout))].join('\n');
}

/**
 * Streams groups for `watch`: alerts of one request arrive one after the other, so a group is
 * printed when the next request starts or the run ends.
 */
export class GroupPrinter {
  private pending: Alert[] = [];
  constructor(
    private readonly write: (text: string) => void,
    private readonly layout: TableLayout,
  ) {}

  add(a: Alert): void {
    const last = this.pending[this.pending.length - 1];
    if (last !== undefined && requestKey(last) !== requestKey(a)) this.flush();
    this.pending.push(a);
  }

  flush(): void {
    if (this.pending.length === 0) return;
    const group = { key: requestKey(this.pending[0]!), alerts: sortWithinGroup(this.pending) };
    this.pending = [];
    this.write(renderGroup(group, this.layout));
  }
}
