/**
 * The value a map holds under `key`, made by `make` and stored the first time it is asked for:
 * what rules and their helpers keep per options object or per user, built once. `make` is best a
 * function defined once, so a hot path allocates nothing when the value is already there.
 */
export function getOrMake<K, V>(map: { get(key: K): V | undefined; set(key: K, value: V): unknown }, key: K, make: (key: K) => V): V {
  let value = map.get(key);
  if (value === undefined) {
    value = make(key);
    map.set(key, value);
  }
  return value;
}
