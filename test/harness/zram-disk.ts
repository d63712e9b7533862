// Blank whole disks for the namespace test hosts: zram devices, the kernel's compressed
// RAM disk. lsblk calls a zram device TYPE disk, as it does /dev/sdb or /dev/vdb; a loop
// device is TYPE loop, which Rook skips and kubestrap's preflight refuses. A zram device
// holds memory only for what is written to it, so a 6 GiB one costs a few KiB here.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';

const CONTROL = '/sys/class/zram-control';

/** Why no disks can be made here, or undefined; in CI a missing zram fails the run instead. */
export function zramUnavailable(): string | undefined {
  if (existsSync(`${CONTROL}/hot_add`)) return undefined;
  const reason = `test disks unavailable: no ${CONTROL}/hot_add (this kernel has no zram)`;
  if (process.env.CI) throw new Error(`CI must run the host tests; ${reason}`);
  return reason;
}

/** A new blank disk of this size; returns its path (/dev/zramN). */
export function addZramDisk(sizeGiB: number): string {
  const reason = zramUnavailable();
  if (reason) throw new Error(`cannot make a test disk: ${reason}`);
  const id = readFileSync(`${CONTROL}/hot_add`, 'utf8').trim();
  if (!/^\d+$/.test(id)) throw new Error(`zram hot_add answered ${JSON.stringify(id)}`);
  try {
    writeFileSync(`/sys/block/zram${id}/disksize`, `${sizeGiB}G`);
  } catch (error) {
    removeZramDisk(`/dev/zram${id}`);
    throw error;
  }
  return `/dev/zram${id}`;
}

/** Frees the disk and what was written to it; a disk already gone is fine. */
export function removeZramDisk(path: string): void {
  const id = /^\/dev\/zram(\d+)$/.exec(path)?.[1];
  if (!id) throw new Error(`not a zram disk: ${path}`);
  if (!existsSync(`/sys/block/zram${id}`)) return;
  writeFileSync(`/sys/block/zram${id}/reset`, '1');
  writeFileSync(`${CONTROL}/hot_remove`, id);
}
