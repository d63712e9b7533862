// Preflight: read-only checks on every host before anything changes. Every host is
// checked; the phase fails afterwards if any check failed, so the report is complete.
import type { HostRequirement } from '../bundle/format.js';
import type { ClusterModel } from '../spec/model.js';
import { checkBundleArchitecture, checkBundleSpace, checkHostRequirements } from './preflight/bundle-checks.js';
import type { NodeHost } from './cluster-host.js';
import type { HostStep } from '../engine/host-step.js';
import type { Phase } from '../engine/phase.js';
import { formatTable } from '../base/table.js';
import { applyIgnores, evaluate, profileFor, THRESHOLDS, type CheckResult } from './preflight/checks.js';
import { factsScript, parseFacts } from './preflight/facts.js';
import { checkVrrp } from './preflight/vrrp.js';
import { managedEndpoint } from '../templates/endpoint.js';

export interface PreflightReport {
  readonly host: string;
  readonly results: readonly CheckResult[];
}

export class PreflightFailed extends Error {
  readonly exitCode = 1;
}

export class PreflightPhase implements Phase<NodeHost> {
  readonly title = 'Preflight checks';
  readonly reports: PreflightReport[] = [];

  constructor(
    private readonly model: ClusterModel,
    private readonly options: {
      ignore?: readonly string[];
      bundle?: {
        readonly requires: readonly HostRequirement[];
        readonly seal: string;
        readonly size: number;
        readonly architecture: 'amd64' | 'arm64';
      };
    } = {},
  ) {}

  async run(step: HostStep<NodeHost>): Promise<void> {
    const node = step.host.node;
    // The VRRP listen is seconds of waiting: it runs while the facts are gathered.
    const [output, vrrp] = await Promise.all([
      step.probe(factsScript(node.hostname, node.storage ? node.disks.map((d) => d.device) : []), {
        label: 'gather preflight facts',
        timeoutMs: 60_000,
      }),
      managedEndpoint(this.model) && node.role === 'control-plane' ? checkVrrp(step, this.model) : undefined,
    ]);
    const checks = evaluate(parseFacts(output.stdout), node, this.model, THRESHOLDS[profileFor(this.model)]);
    if (vrrp) checks.push(vrrp);
    const { bundle } = this.options;
    if (bundle)
      checks.push(
        await checkBundleArchitecture(step, bundle.architecture),
        await checkHostRequirements(step, this.model.os.family, bundle.requires),
        await checkBundleSpace(step, bundle),
      );
    const results = applyIgnores(checks, this.options.ignore ?? []);
    this.reports.push({ host: step.host.name, results });
    for (const r of results) if (r.verdict !== 'pass') step.note(`${r.verdict}: ${r.name}: ${r.detail}`);
  }

  async after(): Promise<void> {
    const failures = this.reports.flatMap((r) =>
      r.results.filter((c) => c.verdict === 'fail').map((c) => `${r.host}: ${c.name}: ${c.detail}`),
    );
    if (failures.length) {
      throw new PreflightFailed(
        `${failures.length} check(s) failed; nothing was changed:\n${failures.map((f) => `  ${f}`).join('\n')}\n` +
          `Fix them, or pass --ignore-preflight NAME to go on anyway.`,
      );
    }
  }
}

/** The report as a table: one row per host and check. */
export function preflightTable(reports: readonly PreflightReport[]): string {
  const rows = [...reports]
    .sort((a, b) => a.host.localeCompare(b.host, 'en', { numeric: true }))
    .flatMap((r) => r.results.map((c) => [r.host, c.name, c.verdict.toUpperCase(), c.detail]));
  return formatTable(['HOST', 'CHECK', 'RESULT', 'DETAIL'], rows);
}
