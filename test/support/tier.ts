// The fast tier (vitest.config.ts) runs without root and in parallel. A file there that
// asks for the test hosts, VMs or libvirt would be skipped as "needs root" on a
// contributor's machine and would race the locked host files in CI, so it fails instead,
// saying where it belongs.
export function assertHostTier(what: string): void {
  if (process.env.KUBESTRAP_TEST_TIER !== 'fast') return;
  throw new Error(`this file uses ${what}, which needs the hosts tier: add it to HOST_TEST_FILES in vitest.config.ts`);
}
