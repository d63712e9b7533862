import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // The real-tool checks (vagrant validate, ruby, systemd-analyze) spawn processes; give them room.
    testTimeout: 60_000,
    pool: 'forks',
    // The host tests start real sshd fleets and time their behaviour; on two cores they
    // must not compete with each other or with the vagrant/ruby checks.
    fileParallelism: false,
    reporters: ['default', './test/support/summary-reporter.ts'],
  },
});
