// The record an upgrade keeps in the cluster's working directory while it runs: where it is
// going, and per node the version it has reached and whether this upgrade left it cordoned.
// The plan of a re-run comes from the cluster itself (upgrade.ts); the record is what a
// failure or Ctrl-C leaves for the user to read, and how a re-run knows which cordons are
// its own to lift.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { writeAtomic } from '../base/atomic-write.js';
import type { NodeProgress } from '../provisioners/upgrade-node.js';
import { ensureWorkDir, workDir } from './workdir.js';

export const UPGRADE_RECORD = 'upgrade.json';

export interface UpgradeRecord {
  readonly from: string;
  readonly to: string;
  readonly started: string;
  updated: string;
  /** running until the run ends; then done, failed or interrupted. */
  outcome: 'running' | 'done' | 'failed' | 'interrupted';
  readonly nodes: Record<string, NodeProgress>;
}

export function upgradeRecordPath(cluster: string): string {
  return join(workDir(cluster), UPGRADE_RECORD);
}

/** The last run's record; undefined when there is none or it cannot be read as one. */
export async function readUpgradeRecord(cluster: string): Promise<UpgradeRecord | undefined> {
  try {
    const record = JSON.parse(await readFile(upgradeRecordPath(cluster), 'utf8')) as Partial<UpgradeRecord>;
    return record && typeof record.nodes === 'object' && record.nodes ? (record as UpgradeRecord) : undefined;
  } catch {
    return undefined;
  }
}

/** Writes the record after every change, one write at a time (phases report concurrently). */
export class UpgradeRecorder {
  private writing: Promise<void> = Promise.resolve();

  constructor(
    private readonly cluster: string,
    readonly record: UpgradeRecord,
    private readonly now: () => Date = () => new Date(),
  ) {}

  static start(cluster: string, from: string, to: string, previous: UpgradeRecord | undefined): UpgradeRecorder {
    ensureWorkDir(cluster);
    const started = new Date().toISOString();
    // Cordons a failed run left stay this upgrade's to lift.
    const nodes = Object.fromEntries(
      Object.entries(previous?.nodes ?? {})
        .filter(([, n]) => n.cordoned)
        .map(([name, n]) => [name, { ...n }]),
    );
    return new UpgradeRecorder(cluster, { from, to, started, updated: started, outcome: 'running', nodes });
  }

  node(name: string, state: NodeProgress): Promise<void> {
    this.record.nodes[name] = { ...this.record.nodes[name], ...state };
    return this.save();
  }

  finish(outcome: UpgradeRecord['outcome']): Promise<void> {
    this.record.outcome = outcome;
    return this.save();
  }

  private save(): Promise<void> {
    this.record.updated = this.now().toISOString();
    const text = `${JSON.stringify(this.record, null, 2)}\n`;
    this.writing = this.writing.then(() => writeAtomic(upgradeRecordPath(this.cluster), text, 0o600));
    return this.writing;
  }
}
