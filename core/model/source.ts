import type { Cloud } from './event.js';
import type { NeedsUnion } from './needs.js';
import type { ParseOutcome } from './parse-result.js';

/**
 * A window on the ingestion-time axis where the cloud offers one (docs/architecture.md "Scheduled scans"):
 * a source returns exactly the records that reached the log service in [from, to).
 */
export interface ScanWindow {
  from: Date;
  to: Date;
}

/** Something the scan must tell the user once per run (e.g. GKE Data Access logs are off). */
export interface CoverageNotice {
  code: string;
  message: string;
}

export interface SourcePage {
  /** Parsed records of this page, in the order the service returned them. */
  outcomes: ParseOutcome[];
  /** 1-based page number within the window, for progress and error messages. */
  page: number;
}

export interface ReadOptions {
  /** The enabled rules' needs, compiled by the adapter into the server-side filter. */
  needs: NeedsUnion;
  signal?: AbortSignal;
}

/**
 * A live log source for one cluster (or one workspace / project). `read` yields page by page so
 * memory stays bounded whatever the window holds, and throws a SourceError when the window could
 * not be read to the end (the scan then leaves the window to be retried).
 */
export interface LogSource {
  /** Stable name used in checkpoints and messages, e.g. `eks:prod-eks-1`. */
  readonly name: string;
  readonly cloud: Cloud;
  readonly cluster?: string;
  read(window: ScanWindow, options: ReadOptions): AsyncIterable<SourcePage>;
  /** Coverage problems noticed during the last `read` (called after it finished). */
  notices?(): CoverageNotice[];
  /** Named figures and warnings of the last complete `read`, for the run summary and metrics. */
  readReport?(): { metrics: Record<string, number>; warnings: string[] } | undefined;
}
