// What a test host saw over SSH, recorded on the host itself: every command sshd ran
// (a ForceCommand wrapper logs the time and the command, then runs it unchanged) and
// every login sshd accepted (its own log). The interrupt tests count what arrived after
// Ctrl-C from here, not from what the client believes it sent.
import { chmodSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Harness, TestHost } from '../harness/hosts.js';

const LOG = 'var/log/kubestrap-audit.log';
const WRAPPER = 'usr/local/sbin/kubestrap-audit';

export interface SeenCommand {
  /** When sshd started it, ms since the epoch (the host shares this machine's clock). */
  readonly at: number;
  readonly command: string;
}

/**
 * Installs the wrapper. `hold`: the first command matching the shell pattern is held
 * that many seconds before it runs, to catch the client in the middle of it.
 */
export async function auditCommands(
  harness: Harness,
  host: TestHost,
  hold?: { pattern: string; seconds: number },
): Promise<void> {
  const holdCase = hold
    ? `case "$SSH_ORIGINAL_COMMAND" in ${hold.pattern}) ` +
      `[ -e /tmp/kubestrap-held ] || { : > /tmp/kubestrap-held; sleep ${hold.seconds}; } ;; esac\n`
    : '';
  writeFileSync(
    join(host.root, WRAPPER),
    '#!/bin/sh\n' +
      `printf '%s %s\\n' "$(date +%s%3N)" "$(printf %s "$SSH_ORIGINAL_COMMAND" | tr '\\n' ' ' | cut -c1-300)" ` +
      `>> /${LOG}\n${holdCase}exec /bin/sh -c "$SSH_ORIGINAL_COMMAND"\n`,
  );
  chmodSync(join(host.root, WRAPPER), 0o755);
  writeFileSync(join(host.root, LOG), '');
  chmodSync(join(host.root, LOG), 0o666);
  writeFileSync(join(host.root, 'etc/ssh/sshd_config.d/zz-audit.conf'), `ForceCommand /${WRAPPER}\n`);
  if (host.init === 'systemd') harness.inside(host, 'systemctl reload ssh');
  else {
    harness.sshdDown(host);
    await harness.sshdUp(host);
  }
}

export function seenCommands(host: TestHost): SeenCommand[] {
  const file = join(host.root, LOG);
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((line) => {
      const space = line.indexOf(' ');
      return { at: Number(line.slice(0, space)), command: line.slice(space + 1) };
    });
}

/** Logins sshd accepted, in order; with the time when the host's log has one (systemd's journal). */
export function seenLogins(harness: Harness, host: TestHost): { at?: number }[] {
  if (host.init === 'systemd') {
    return harness
      .inside(host, 'journalctl -q -u ssh -o short-unix --no-pager | grep "Accepted publickey" || true')
      .split('\n')
      .filter(Boolean)
      .map((line) => ({ at: Math.round(Number(line.split(' ')[0]) * 1000) }));
  }
  const log = join(host.root, 'var/log/sshd.log');
  const text = existsSync(log) ? readFileSync(log, 'utf8') : '';
  return text
    .split('\n')
    .filter((l) => l.includes('Accepted publickey'))
    .map(() => ({}));
}
