// The commands kubeadm's preflight looks for on PATH (FileExisting-<command>) against what
// kubestrap installs for them (spec/host-packages.ts). The kubeadm double's checks per
// minor (test/doubles/kubeadm, from checks_linux.go and the changelogs) are kept apart from
// kubestrap's table on purpose: comparing kubestrap with itself would catch nothing.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { PREFLIGHT_COMMANDS_PRESENT, preflightTools } from '../spec/host-packages.js';
import { SUPPORTED_MINORS } from '../spec/versions.js';

const DOUBLE = readFileSync(new URL('./doubles/kubeadm', import.meta.url), 'utf8');
const COMMON_CHECKS = DOUBLE.match(/^common_checks\(\) \{[\s\S]*?^\}$/m)?.[0];

/** `command level` for each FileExisting check the double's preflight makes, everything else stubbed. */
function doubleFileExisting(minor: number, mode: 'init' | 'join'): Map<string, 'E' | 'W'> {
  const script = [
    'executable() { echo "$1 $2"; }',
    'check() { :; }; ctr() { :; }; system_verification() { :; }; hostname_check() { :; }',
    'systemctl() { echo enabled; }; port_in_use() { return 1; }',
    COMMON_CHECKS!,
    // Its last check (a busy port) leaves a non-zero status when the port is free.
    `common_checks unix:///run/containerd/containerd.sock ${minor} ${minor} ${mode} || true`,
  ].join('\n');
  const out = execFileSync('bash', ['-c', script], { encoding: 'utf8' });
  return new Map(
    out
      .trim()
      .split('\n')
      .filter(Boolean)
      .map((line) => line.split(' ') as [string, 'E' | 'W']),
  );
}

describe("kubestrap installs what kubeadm's preflight looks for", () => {
  it('finds the checks in the kubeadm double', () => {
    expect(COMMON_CHECKS).toContain('executable');
    expect(doubleFileExisting(29, 'init').get('iptables')).toBe('E');
  });

  it.each(SUPPORTED_MINORS.flatMap((minor) => (['init', 'join'] as const).map((mode) => [minor, mode] as const)))(
    '1.%i %s: every command checked is installed by kubestrap or on every host',
    (minor, mode) => {
      const installed = new Map(preflightTools(minor).map((t) => [t.command, t.severity === 'error' ? 'E' : 'W']));
      const unaccounted = [...doubleFileExisting(minor, mode)]
        .filter(([command, level]) => installed.get(command) !== level && !(command in PREFLIGHT_COMMANDS_PRESENT))
        .map(([command, level]) => `FileExisting-${command} (${level})`);
      expect(unaccounted).toEqual([]);
    },
  );

  it.each(SUPPORTED_MINORS)(
    '1.%i: kubestrap installs nothing for a check kubeadm of that minor does not make',
    (minor) => {
      const checked = doubleFileExisting(minor, 'init');
      expect(
        preflightTools(minor)
          .filter((t) => !checked.has(t.command))
          .map((t) => t.command),
      ).toEqual([]);
    },
  );
});
