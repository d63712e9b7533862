import { it } from 'vitest';
import { Harness } from './harness/hosts.js';
it('exp', async () => {
  const h = await Harness.start(1, 'systemd');
  try {
    await new Promise((r) => setTimeout(r, 1500));
    for (const c of ['timedatectl show -p NTPSynchronized --value', 'systemctl is-active firewalld', 'ss -Hlntup', 'lsblk -J -b -o NAME,PATH,SIZE,TYPE,FSTYPE,MOUNTPOINT | head -3', 'getent hosts h1', 'modprobe -n overlay; echo $?']) {
      const t = Date.now(); let out = ''; try { out = h.inside(h.hosts[0]!, c + ' 2>&1'); } catch (e) { out = String(e).slice(0, 100); }
      console.log(Date.now() - t, 'ms', c, '=>', out.trim().slice(0, 80));
    }
  } finally { await h.stop(); }
}, 90000);
