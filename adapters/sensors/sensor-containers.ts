import { ConfigError } from '../../core/model/errors.js';

/** The container names of the sensors' Helm charts (aquasecurity/tracee, falcosecurity/falco). */
export const DEFAULT_SENSOR_CONTAINERS: readonly string[] = Object.freeze(['tracee', 'falco']);

/** Kubernetes container names are DNS labels, which also makes them safe inside every query language used. */
const CONTAINER_NAME = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;

/**
 * The sensor containers to read, validated; `what` names the option or flag in the error. An empty
 * list means "no container filter", which only a CloudWatch log group of the sensor's own can
 * serve (`allowNone`): bare Tracee or Falco lines carry no container name to filter on.
 */
export function sensorContainers(names: readonly string[] | undefined, what: string, opts: { allowNone?: boolean } = {}): string[] {
  const list = [...new Set(names ?? DEFAULT_SENSOR_CONTAINERS)];
  if (list.length === 0) {
    if (opts.allowNone === true) return list;
    throw new ConfigError(
      'runtime-sensor-container',
      `${what}: name at least one sensor container (e.g. tracee or falco); an empty list (no container filter) applies only to an EKS runtime log group that holds the sensor's lines alone`,
    );
  }
  const bad = list.find((c) => !CONTAINER_NAME.test(c));
  if (bad !== undefined) throw new ConfigError('runtime-sensor-container', `${what}: "${bad}" is not a Kubernetes container name (lower-case letters, digits and -)`);
  return list;
}
