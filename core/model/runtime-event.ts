import type { AuditEvent, Cloud, Origin } from './event.js';

/**
 * What a runtime sensor (Tracee, Falco, Elastic Defend for Containers) saw a process do on a node or in a container: the other
 * event kind beside `AuditEvent`. Adapters in `adapters/sensors/` build it from the sensors' JSON
 * output; a field the sensor did not print is undefined, never guessed.
 */

/** `open-read` covers O_RDONLY and O_RDWR (the file's bytes can be read), as Tracee's IsFileRead. */
export type RuntimeOperation = 'open-read' | 'open-write' | 'rename' | 'exec';
export const RUNTIME_OPERATIONS: readonly RuntimeOperation[] = Object.freeze(['open-read', 'open-write', 'rename', 'exec']);

/** `cloud-defend` is Elastic Defend for Containers (the Elastic integration `cloud_defend`). */
export type RuntimeSensor = 'tracee' | 'falco' | 'cloud-defend';

/**
 * How an open's read or write intent is known: from the open flags, from the sensor's own
 * read/write field (Falco `evt.is_open_read`), from the sensor rule that matched (a stock Falco rule
 * that selects only reads or only writes), or not at all. An open of unknown intent is counted as a
 * possible read, and a finding on it says so.
 */
export type OpenAccessSource = 'flags' | 'sensor-field' | 'sensor-rule' | 'unknown';

export interface RuntimeProcess {
  /** The task name (`comm`): at most 15 characters, so `kube-controller` for kube-controller-manager. */
  name: string;
  /** Path of the executable when the sensor printed it (Tracee `executable.path`, Falco `proc.exepath`). */
  executable?: string;
  /** argv, first element included, when known (exec events; Falco `proc.cmdline`). */
  args: string[];
  pid?: number;
  parent?: { name: string; executable?: string };
  /** A terminal is attached (Falco `proc.tty` ≠ 0, Tracee exec `stdin_type` S_IFCHR on /dev/pts). */
  tty?: boolean;
}

export interface RuntimeContainer {
  id: string;
  /** The Kubernetes container name, as the CRI reports it. */
  name?: string;
  image?: string;
}

export interface RuntimeEvent {
  kind: 'runtime';
  /** A stable id: the sensor's uuid when it printed one, else a hash of the record. */
  id: string;
  cloud: Cloud;
  cluster?: string;
  /** ISO-8601, when the kernel event happened. */
  time: string;
  /** ISO-8601, when the log service received the line, when known. */
  ingestedAt?: string;
  sensor: RuntimeSensor;
  /** What the process did; named like `AuditEvent.verb` so findings and alerts read alike. */
  verb: RuntimeOperation;
  process: RuntimeProcess;
  /** The process's Linux user. */
  user?: { name?: string; uid?: number };
  /** Undefined for a process on the host, outside any container. */
  container?: RuntimeContainer;
  pod?: string;
  namespace?: string;
  node?: string;
  /** The file opened (open-read, open-write) or the program run (exec); `accessFrom` for opens. */
  file?: { path: string; flags?: string[]; accessFrom?: OpenAccessSource };
  rename?: { from: string; to: string };
  outcome: 'success' | 'failure' | 'unknown';
  /** The sensor's own rule or event name, for evidence (Falco `rule`, Tracee `eventName`, D4C `event.action`). */
  sensorRule?: string;
  truncated: boolean;
  origin: Origin;
}

/** What the engine handles: one Kubernetes API request, or one thing a process did. */
export type DetectionEvent = AuditEvent | RuntimeEvent;

/** The path the event is about: the opened file, or the source of a rename. */
export function runtimePath(e: RuntimeEvent): string | undefined {
  return e.rename?.from ?? e.file?.path;
}

export function isRuntimeEvent(e: DetectionEvent): e is RuntimeEvent {
  return e.kind === 'runtime';
}

/** A `kubectl exec` as the audit log records it: the request whose user a runtime event is joined to. */
export function isExecRequest(e: AuditEvent): boolean {
  return e.target.resource === 'pods' && e.target.subresource === 'exec' && (e.verb === 'create' || e.verb === 'get');
}

/** `kubectl exec -it … sh` sessions last minutes; a read this long after the exec is still tied to it. */
export const DEFAULT_EXEC_WINDOW_SECONDS = 15 * 60;
