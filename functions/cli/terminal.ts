import { inspect } from 'node:util';
import type { Severity } from '../../core/model/severity.js';

/**
 * How the findings output looks on the stream it goes to: a width to fit and whether to colour.
 * Both are decided once per command from the stream and the environment, never per line.
 */
export interface TerminalStyle {
  /** Columns to fit; undefined means "do not wrap" (a pipe or a file: one line per finding). */
  width?: number;
  color: boolean;
}

/** The narrowest layout still worth wrapping to; below it lines are left long. */
const MIN_WIDTH = 40;

export interface StreamLike {
  isTTY?: boolean;
  columns?: number;
}

/**
 * Colour only on a terminal, never when NO_COLOR is set (https://no-color.org: any non-empty
 * value) or `--no-color` is given; FORCE_COLOR (non-zero) turns it on for a pipe, as in most CLIs.
 */
export function terminalStyle(stream: StreamLike, env: NodeJS.ProcessEnv, noColorFlag = false): TerminalStyle {
  const tty = stream.isTTY === true;
  const force = env['FORCE_COLOR'] !== undefined && env['FORCE_COLOR'] !== '' && env['FORCE_COLOR'] !== '0';
  const color = !noColorFlag && (env['NO_COLOR'] === undefined || env['NO_COLOR'] === '') && (tty || force);
  const columns = tty ? stream.columns : undefined;
  return { color, ...(columns !== undefined && columns >= MIN_WIDTH ? { width: columns } : {}) };
}

type StyleName = keyof typeof inspect.colors;

const SEVERITY_STYLE: Record<Severity, StyleName[]> = {
  critical: ['bold', 'red'],
  high: ['red'],
  medium: ['yellow'],
  low: ['cyan'],
  info: ['gray'],
};

/**
 * SGR codes from Node's own table. `util.styleText` would do, but from Node 22 it checks the real
 * process.stdout rather than the stream written to, so the decision above would not hold.
 */
function paint(names: readonly StyleName[], text: string): string {
  let out = text;
  for (const name of names) {
    const [open, close] = inspect.colors[name] ?? [];
    if (open !== undefined && close !== undefined) out = `\x1b[${open}m${out}\x1b[${close}m`;
  }
  return out;
}

/** `text` in the severity's colour when colour is on. */
export function paintSeverity(style: TerminalStyle, severity: Severity, text: string): string {
  return style.color ? paint(SEVERITY_STYLE[severity], text) : text;
}

export function paintDim(style: TerminalStyle, text: string): string {
  return style.color ? paint(['dim'], text) : text;
}

export function paintBold(style: TerminalStyle, text: string): string {
  return style.color ? paint(['bold'], text) : text;
}
