/**
 * What Falco's stock rules select, for alerts whose output names neither the open flags nor
 * `evt.is_open_read`: the default rules print `evt.type` and `fd.name` only, so without this table
 * every stock file alert would be of unknown intent. Source: the rule conditions in
 * falcosecurity/rules `rules/falco_rules.yaml` (stable), `falco-incubating_rules.yaml` and
 * `falco-sandbox_rules.yaml`, whose file rules build on two macros:
 *   open_read:  evt.type in (open,openat,openat2) and evt.is_open_read=true  and fd.typechar='f' and fd.num>=0
 *   open_write: evt.type in (open,openat,openat2) and evt.is_open_write=true and fd.typechar='f' and fd.num>=0
 * `read` and `write` are rules whose only file condition is one of them; `exec` rules match
 * `spawned_process` (execve, execveat); `other` rules match no file open or exec (network, ptrace,
 * links, modules), so their alerts are not events credwatch reads. A renamed or locally edited rule
 * is not in the table and its opens stay of unknown intent (docs/runtime-sensors.md).
 */
export type FalcoRuleSelects = 'read' | 'write' | 'exec' | 'other';

export const FALCO_STOCK_RULES: Readonly<Record<string, FalcoRuleSelects>> = Object.freeze({
  // falco_rules.yaml (maturity_stable)
  'Directory traversal monitored file read': 'read',
  'Read sensitive file trusted after startup': 'read',
  'Read sensitive file untrusted': 'read',
  'Run shell untrusted': 'exec',
  'System user interactive': 'exec',
  'Terminal shell in container': 'exec',
  'Contact K8S API Server From Container': 'other',
  'Netcat Remote Code Execution in Container': 'exec',
  'Search Private Keys or Passwords': 'exec',
  'Clear Log Activities': 'write',
  'Remove Bulk Data from Disk': 'exec',
  'Create Symlink Over Sensitive Files': 'other',
  'Create Hardlink Over Sensitive Files': 'other',
  'Packet socket created in container': 'other',
  'Redirect STDOUT/STDIN to Network Connection in Container': 'other',
  'Linux Kernel Module Injection Detected': 'other',
  'Debugfs Launched in Privileged Container': 'exec',
  'Detect release_agent File Container Escapes': 'write',
  'PTRACE attached to process': 'other',
  'PTRACE anti-debug attempt': 'other',
  'Find AWS Credentials': 'exec',
  'Execution from /dev/shm': 'exec',
  'Drop and execute new binary in container': 'exec',
  'Disallowed SSH Connection Non Standard Port': 'other',
  'Fileless execution via memfd_create': 'exec',
  // falco-incubating_rules.yaml, falco-sandbox_rules.yaml
  'Read ssh information': 'read',
  'Read Shell Configuration File': 'read',
  'Read environment variable from /proc files': 'read',
  'Write below binary dir': 'write',
  'Write below monitored dir': 'write',
  'Write below etc': 'write',
  'Write below root': 'write',
  'Write below rpm database': 'write',
  'Modify Shell Configuration File': 'write',
  'Create files below dev': 'write',
  'Launch Package Management Process in Container': 'exec',
  'Launch Suspicious Network Tool in Container': 'exec',
  'Launch Suspicious Network Tool on Host': 'exec',
  'Launch Remote File Copy Tools in Container': 'exec',
  'The docker client is executed in a container': 'exec',
  'Sudo Potential Privilege Escalation': 'exec',
  'Mount Launched in Privileged Container': 'exec',
  'Set Setuid or Setgid bit': 'other',
  'Unexpected K8s NodePort Connection': 'other',
});

/** Falco's own health alerts ("Falco internal: syscall event drop", "… metrics snapshot"). */
export const FALCO_INTERNAL_PREFIX = 'Falco internal:';

export function stockRuleSelects(rule: string | undefined): FalcoRuleSelects | undefined {
  return rule === undefined ? undefined : FALCO_STOCK_RULES[rule];
}
