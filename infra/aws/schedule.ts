/**
 * EventBridge Scheduler expressions, checked at synth: a schedule the service would refuse stops
 * the deploy halfway, and one the alarms misread leaves them silent or always firing. The alarms
 * need the period between runs, so it is derived here from the expression.
 *
 * rate(value unit): value a positive whole number, unit minute(s) | hour(s) | day(s), singular
 * exactly when the value is 1 (https://docs.aws.amazon.com/scheduler/latest/UserGuide/schedule-types.html).
 * cron(minutes hours day-of-month month day-of-week year): six fields, `?` in exactly one of the
 * two day fields.
 */
export interface ParsedSchedule {
  expression: string;
  /** Minutes between two runs; undefined for a cron whose runs are not evenly spaced. */
  periodMinutes: number | undefined;
}

/** Runs further apart than this would leave credwatch blind for too long, and outgrow a one-day alarm window. */
export const MAX_PERIOD_MINUTES = 12 * 60;

const UNIT_MINUTES: Record<string, number> = { minute: 1, hour: 60, day: 1440 };

export class ScheduleError extends Error {}

function parseRate(body: string): number {
  const m = /^(\d+) (minute|minutes|hour|hours|day|days)$/.exec(body);
  if (m === null) throw new ScheduleError('rate(…) takes "<whole number> <minute|minutes|hour|hours|day|days>", e.g. rate(5 minutes)');
  const value = Number(m[1]);
  const unit = m[2]!;
  if (value < 1) throw new ScheduleError('the rate must be at least 1');
  const singular = !unit.endsWith('s');
  if (singular !== (value === 1)) throw new ScheduleError(`write rate(1 ${unit.replace(/s$/, '')}) for one unit and rate(${value} ${unit.replace(/s?$/, 's')}) for more (EventBridge refuses the other forms)`);
  return value * UNIT_MINUTES[unit.replace(/s$/, '')]!;
}

const FIELD = /^[0-9A-Za-z*?/,#L W-]+$/;

/** The step of a field that fires every `step` units from 0 (`*`, `*\/N`, `0/N`); undefined otherwise. */
function everyStep(field: string): number | undefined {
  if (field === '*') return 1;
  const m = /^(?:\*|0)\/(\d+)$/.exec(field);
  return m === null ? undefined : Number(m[1]);
}

function parseCron(body: string, periodHint: number | undefined): number | undefined {
  const fields = body.split(' ');
  if (fields.length !== 6 || fields.some((f) => f === '' || !FIELD.test(f))) {
    throw new ScheduleError('cron(…) takes six fields: minutes hours day-of-month month day-of-week year, e.g. cron(0/5 * * * ? *)');
  }
  const [minutes, hours, dom, , dow] = fields as [string, string, string, string, string, string];
  if ((dom === '?') === (dow === '?')) throw new ScheduleError('cron(…) needs "?" in exactly one of day-of-month and day-of-week');
  if (periodHint !== undefined) return periodHint;
  // Evenly spaced only when every day runs the same way.
  if (dom !== '*' && dom !== '?') return undefined;
  if (dow !== '*' && dow !== '?') return undefined;
  const minuteStep = everyStep(minutes);
  if (minuteStep !== undefined && hours === '*' && 60 % minuteStep === 0) return minuteStep;
  if (/^\d+$/.test(minutes)) {
    const hourStep = everyStep(hours);
    if (hourStep !== undefined && 24 % hourStep === 0) return hourStep * 60;
  }
  return undefined;
}

/**
 * Parses `expression`; `periodHint` (minutes) is the operator's statement of the period for a
 * cron the parser cannot space out. Throws ScheduleError with what to write instead.
 */
export function parseSchedule(expression: string, periodHint?: number): ParsedSchedule {
  const m = /^(rate|cron)\((.*)\)$/.exec(expression);
  if (m === null) throw new ScheduleError('expected rate(…) or cron(…) (a one-time at(…) schedule would scan once)');
  const periodMinutes = m[1] === 'rate' ? parseRate(m[2]!) : parseCron(m[2]!, periodHint);
  if (periodMinutes !== undefined && periodMinutes > MAX_PERIOD_MINUTES) {
    throw new ScheduleError(`runs ${periodMinutes} minutes apart leave credwatch blind too long; at most ${MAX_PERIOD_MINUTES} minutes`);
  }
  return { expression, periodMinutes };
}
