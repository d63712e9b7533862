// Host prep's time sync, without hosts: it enables a time service only where one is
// installed and disabled, and leaves an enabled one alone even when timedatectl does not
// count it (its NTP property only knows the units of ntp-units.d), so a re-run changes
// nothing. The phase's commands are shellchecked by test/shellcheck.test.ts.
import { describe, expect, it } from 'vitest';
import { HostStep } from '../engine/host-step.js';
import type { NodeHost } from '../provisioners/cluster-host.js';
import { HostprepPhase } from '../provisioners/hostprep.js';
import { renderCluster } from '../templates/render.js';
import { renderFixture } from './support/fixtures.js';
import { RecordingShell, type Recorded } from './support/recording-host.js';

/** Host prep on a node whose timedatectl says `ntp` and whose first time service is `found` ("name enabled active"). */
async function timeSync(ntp: string, found: string): Promise<{ changes: string[]; notes: string[] }> {
  const { model } = (await renderFixture('ha')).loaded;
  const node = model.nodes[0]!;
  const recorded: Recorded[] = [];
  const shell = new RecordingShell(
    node.name,
    recorded,
    (command) => {
      if (command.startsWith('timedatectl show -p NTP')) return { stdout: `${ntp}\n` };
      if (command.startsWith('for s in chronyd chrony systemd-timesyncd')) return { stdout: found ? `${found}\n` : '' };
      if (command.startsWith('timedatectl')) return { stdout: 'yes\n' };
      return { stdout: '' };
    },
    { pending: false },
  );
  const notes: string[] = [];
  const step = new HostStep({ name: node.name, node, ssh: shell } as NodeHost, false, (line) => notes.push(line));
  await new HostprepPhase(model, renderCluster(model)).run(step);
  return {
    changes: step.changes.flatMap((c) => (c.kind === 'command' && /time sync/.test(c.description) ? [c.command] : [])),
    notes: notes.filter((n) => /time|clock|chrony|timesyncd/.test(n)),
  };
}

describe('host prep: time sync', () => {
  it('enables an installed, disabled time service, and only that', async () => {
    expect(await timeSync('no', 'chrony disabled inactive')).toMatchObject({
      changes: ['systemctl enable --now chrony'],
    });
    expect((await timeSync('yes', 'chrony disabled inactive')).changes).toEqual([]);
  });

  it('leaves an enabled service alone, saying when it does not run; a masked one too', async () => {
    expect(await timeSync('no', 'ntpsec enabled active')).toEqual({ changes: [], notes: [] });
    const stopped = await timeSync('no', 'chrony enabled inactive');
    expect(stopped.changes).toEqual([]);
    expect(stopped.notes.join('\n')).toContain(
      'chrony is enabled but inactive: systemctl status chrony says why; clocks may drift',
    );
    const masked = await timeSync('no', 'systemd-timesyncd masked inactive');
    expect(masked.changes).toEqual([]);
    expect(masked.notes.join('\n')).toContain('systemd-timesyncd is masked, so kubestrap leaves it');
  });

  it('says when no time service is installed', async () => {
    const none = await timeSync('no', '');
    expect(none.changes).toEqual([]);
    expect(none.notes.join('\n')).toContain('no time-sync service installed');
  });
});
