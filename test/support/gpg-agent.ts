// gpg starts a gpg-agent daemon per home directory on first use of a secret key, and
// the daemon outlives the test (it reparents to PID 1). The tests sign only while
// setting up their repositories, so the agents are stopped right after.
import { spawnSync } from 'node:child_process';

export function stopGpgAgents(...homes: string[]): void {
  for (const home of homes) spawnSync('gpgconf', ['--homedir', home, '--kill', 'all'], { stdio: 'ignore' });
}
