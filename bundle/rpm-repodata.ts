// The bundle's own rpm repository: repodata over exactly the carried .rpms, written by
// createrepo_c (the tool dnf's repositories are made with) on the connected machine, so
// a host needs nothing but dnf. Made reproducible: the .rpm mtimes (which primary.xml
// records) and every timestamp are pinned, and no sqlite databases are written.
import { readdirSync, utimesSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';

export class RepodataError extends Error {
  readonly exitCode = 1;
}

/** Runs createrepo_c over `dir` (holding the .rpms); returns the repodata files, relative to `dir`. */
export async function writeRepodata(dir: string): Promise<string[]> {
  for (const name of readdirSync(dir).filter((n) => n.endsWith('.rpm'))) utimesSync(join(dir, name), 0, 0);
  const result = await execa(
    'createrepo_c',
    [
      '--quiet',
      '--no-database',
      '--revision',
      '0',
      '--set-timestamp-to-revision',
      '--general-compress-type',
      'gz',
      dir,
    ],
    { reject: false },
  );
  if (result.code === 'ENOENT')
    throw new RepodataError(
      "createrepo_c is needed to write the bundle's rpm repository " +
        '(Debian/Ubuntu: apt-get install createrepo-c; RHEL/Fedora: dnf install createrepo_c)',
    );
  if (result.exitCode !== 0)
    throw new RepodataError(`createrepo_c ${dir} failed: ${`${result.stderr}`.trim().split('\n').slice(-3).join(' ')}`);
  return readdirSync(join(dir, 'repodata'))
    .sort()
    .map((n) => `repodata/${n}`);
}
