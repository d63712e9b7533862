import { defineConfig } from 'vitest/config';

// Two tiers. The rule: a test file that needs root, the namespace test hosts, VMs or
// libvirt is listed here; every other test/**/*.test.ts is in the fast tier, so a new
// unit test file is fast without touching this file. A fast-tier file that reaches for
// the test hosts fails with a message pointing here (test/support/tier.ts).
export const HOST_TEST_FILES = [
  'test/bundle-build.test.ts',
  'test/bundle-unpack.test.ts',
  'test/bundle-rpm-build.test.ts',
  'test/cli-interrupt.test.ts',
  'test/cli-up.test.ts',
  'test/ha-endpoint.test.ts',
  'test/kubelet-double.test.ts',
  'test/verify-workload-doubles.test.ts',
  'test/harness.test.ts',
  'test/hostprep.test.ts',
  'test/install-offline.test.ts',
  'test/kubeadm-double.test.ts',
  'test/runner.test.ts',
  'test/runtime-packages.test.ts',
  'test/ssh-limits.test.ts',
  'test/ssh.test.ts',
  'test/upgrade.test.ts',
  'test/vagrant-e2e.test.ts',
  'test/vagrant-leftovers.test.ts',
  'test/vm.test.ts',
];

const shared = {
  // The real-tool checks (vagrant validate, ruby, systemd-analyze) spawn processes; give them room.
  testTimeout: 60_000,
  pool: 'forks',
} as const;

export default defineConfig({
  test: {
    // Without -u a golden file that does not exist is a failure, not a file quietly written.
    update: 'none',
    globalSetup: ['./test/support/leftover-processes.ts'],
    reporters: ['default', './test/support/summary-reporter.ts'],
    projects: [
      {
        test: {
          ...shared,
          name: 'fast',
          include: ['test/**/*.test.ts'],
          exclude: HOST_TEST_FILES,
          env: { KUBESTRAP_TEST_TIER: 'fast' },
          // Light files share the two cores; they run first, before the host files.
          maxWorkers: 2,
          sequence: { groupOrder: 0 },
        },
      },
      {
        test: {
          ...shared,
          name: 'hosts',
          include: HOST_TEST_FILES,
          // Each file waits for the machine-wide lock unless its caller holds it already.
          setupFiles: ['./test/support/hosts-lock.ts'],
          // The host tests start real sshd fleets and time their behaviour; on two cores they
          // must not compete with each other or with the vagrant/ruby checks.
          fileParallelism: false,
          sequence: { groupOrder: 1 },
        },
      },
    ],
  },
});
