// Before an upgrade changes anything: on every node it will touch, cgroup v2 if any step
// reaches 1.35 (whose kubelet refuses v1), room on /var for the images and packages, and
// each step's packages in its repository, read into a scratch apt state so the host's own
// is left as it was; on the first control plane, the API ready (its /readyz covers etcd)
// and `kubeadm upgrade plan` clean when run by the first step's kubeadm, unpacked into the
// scratch directory, so nothing is installed before the plan is accepted.
import { shellQuote } from '../base/quote.js';
import { script } from '../base/script.js';
import type { HostStep } from '../engine/host-step.js';
import type { Phase } from '../engine/phase.js';
import type { ClusterModel } from '../spec/model.js';
import type { KubernetesVersion } from '../spec/versions.js';
import { isInitNode } from '../templates/kubeadm/index.js';
import type { NodeHost } from './cluster-host.js';
import { KUBECTL } from './kubectl.js';
import { aptSourceLine, kubernetesRepository, yumRepoFile } from './packages.js';

/** kubelet 1.35 refuses to start on cgroup v1 (failCgroupV1 defaults to true, KEP-5573). */
export const CGROUP_V2_FROM_MINOR = 35;
/** Free space on /var below which an upgrade does not start (images, packages, etcd's backup). */
export const MIN_FREE_KIB = { 'control-plane': 3 * 1024 * 1024, worker: 1024 * 1024 } as const;

export interface UpgradePreflightOptions {
  readonly model: ClusterModel;
  /** The steps' versions, in order. */
  readonly versions: readonly KubernetesVersion[];
  /** The spec names of the nodes the upgrade touches. */
  readonly nodes: ReadonlySet<string>;
}

/** A shell fragment: apt with a scratch state in $d that reads only `source`. */
function scratchApt(source: string): string[] {
  return [
    'd=$(mktemp -d /tmp/kubestrap-upgrade.XXXXXX)',
    'trap \'rm -rf "$d"\' EXIT',
    'mkdir -p "$d/lists/partial" "$d/cache/archives/partial"',
    `printf '%s' ${shellQuote(source)} > "$d/sources.list"`,
    // The scratch directory is root's alone, so apt fetches as root rather than as _apt.
    'apt_in() { "$@" -o Dir::Etc::sourcelist="$d/sources.list" -o Dir::Etc::sourceparts=- ' +
      '-o Dir::State::Lists="$d/lists" -o Dir::Cache="$d/cache" -o APT::Get::List-Cleanup=0 ' +
      '-o APT::Sandbox::User=root; }',
    'apt_in apt-get -qq update >"$d/update.log" 2>&1 || { cat "$d/update.log" >&2; exit 1; }',
  ];
}

/**
 * A shell fragment: dnf with a scratch repository directory in $d holding only `version`'s
 * Kubernetes repository (its excludes lifted: they hold the installed packages back), and
 * a scratch cache, so the host's own dnf state is left as it was.
 */
function scratchDnf(model: ClusterModel, version: KubernetesVersion): string[] {
  return [
    'd=$(mktemp -d /tmp/kubestrap-upgrade.XXXXXX)',
    'trap \'rm -rf "$d"\' EXIT',
    `printf '%s' ${shellQuote(yumRepoFile(model, version))} > "$d/kubernetes.repo"`,
    'dnf_in() { dnf -q -y --setopt=reposdir="$d" --setopt=cachedir="$d/cache" --disableexcludes=all "$@"; }',
  ];
}

/** A shell fragment: $v, the version-release of `name` at `version` in the scratch dnf, or exit 1. */
function dnfRevision(model: ClusterModel, version: KubernetesVersion, name: string): string[] {
  return [
    `v=$(dnf_in repoquery --queryformat '%{version}-%{release}\\n' ${shellQuote(`${name}-${version.text}`)} ` +
      '2>"$d/query.log" | grep . | head -n 1)',
    `[ -n "$v" ] || { echo "${name} ${version.text} is not in ${kubernetesRepository(model, version, 'rpm')}" >&2; ` +
      'cat "$d/query.log" >&2; exit 1; }',
  ];
}

/** Exits 1 naming the repository unless it has kubeadm, kubelet and kubectl at `version`; prints the revision. */
export function packagesReachableScript(model: ClusterModel, version: KubernetesVersion): string {
  if (model.os.family !== 'debian')
    return script(
      ...scratchDnf(model, version),
      ...['kubeadm', 'kubelet', 'kubectl'].flatMap((p) => dnfRevision(model, version, p)),
      'echo "$v"',
    );
  const repo = kubernetesRepository(model, version, 'deb');
  return script(
    ...scratchApt(aptSourceLine(model, version)),
    'for p in kubeadm kubelet kubectl; do',
    `  v=$(apt_in apt-cache madison "$p" | awk -v want=${shellQuote(`${version.text}-`)} ` +
      "'index($3, want) == 1 { print $3; exit }')",
    `  [ -n "$v" ] || { echo "$p ${version.text} is not in ${repo}" >&2; exit 1; }`,
    'done',
    'echo "$v"',
  );
}

/** The first step's kubeadm, unpacked into scratch, runs `upgrade plan` against the cluster. */
export function scratchPlanScript(model: ClusterModel, version: KubernetesVersion): string {
  if (model.os.family !== 'debian')
    return script(
      ...scratchDnf(model, version),
      ...dnfRevision(model, version, 'kubeadm'),
      `url=$(dnf_in repoquery --location ${shellQuote(`kubeadm-${version.text}`)} 2>"$d/query.log" ` +
        '| grep . | head -n 1)',
      '[ -n "$url" ] || { cat "$d/query.log" >&2; exit 1; }',
      'curl -fsSL --max-time 300 -o "$d/kubeadm.rpm" "$url"',
      // It runs as root: checked against the repository key dnf imported at the install.
      'rpm -K "$d/kubeadm.rpm" >"$d/check.log" 2>&1 || { cat "$d/check.log" >&2; exit 1; }',
      'mkdir "$d/root"',
      '(cd "$d/root" && rpm2cpio "$d/kubeadm.rpm" | cpio -idm --quiet)',
      `"$d/root/usr/bin/kubeadm" upgrade plan v${version.text} 2>&1`,
    );
  return script(
    ...scratchApt(aptSourceLine(model, version)),
    `v=$(apt_in apt-cache madison kubeadm | awk -v want=${shellQuote(`${version.text}-`)} ` +
      "'index($3, want) == 1 { print $3; exit }')",
    `[ -n "$v" ] || { echo "kubeadm ${version.text} is not in ${kubernetesRepository(model, version, 'deb')}" >&2; ` +
      'exit 1; }',
    '(cd "$d" && apt_in apt-get -qq download "kubeadm=$v") >"$d/download.log" 2>&1 || ' +
      '{ cat "$d/download.log" >&2; exit 1; }',
    'dpkg-deb -x "$d"/kubeadm_*.deb "$d/root"',
    `"$d/root/usr/bin/kubeadm" upgrade plan v${version.text} 2>&1`,
  );
}

export class UpgradePreflightPhase implements Phase<NodeHost> {
  readonly title = 'Upgrade preflight (cgroups, disk, packages, kubeadm upgrade plan)';

  constructor(private readonly options: UpgradePreflightOptions) {}

  hosts(all: readonly NodeHost[]): NodeHost[] {
    return all.filter((h) => this.options.nodes.has(h.node.name) || isInitNode(this.options.model, h.node));
  }

  async run(step: HostStep<NodeHost>): Promise<void> {
    const { model, versions } = this.options;
    const node = step.host.node;
    const problems: string[] = [];
    const toV2 = versions.find((v) => v.minor >= CGROUP_V2_FROM_MINOR);
    if (toV2) {
      const fs = (await step.probe('stat -fc %T /sys/fs/cgroup', { label: 'cgroup version' })).stdout.trim();
      if (fs !== 'cgroup2fs')
        problems.push(
          `runs cgroup v1 (/sys/fs/cgroup is ${fs}), and the kubelet of ${toV2.text} refuses to start on it: ` +
            'move the host to cgroup v2 (systemd.unified_cgroup_hierarchy=1 on the kernel command line) first',
        );
    }
    const need = MIN_FREE_KIB[node.role];
    const free = Number((await step.probe("df -Pk /var | awk 'NR == 2 { print $4 }'")).stdout.trim());
    if (!(free >= need))
      problems.push(
        `has ${Math.floor(free / 1024)} MiB free on /var, and an upgrade needs ${need / 1024} MiB ` +
          '(images, packages, the backup of etcd and the manifests): free some space',
      );
    // From bundles, each step's packages were checked against its bundle.json before any host was asked.
    const online = model.packages.source !== 'bundle';
    for (const version of online ? versions : []) {
      const found = await step.probe(packagesReachableScript(model, version), {
        check: false,
        timeoutMs: 5 * 60_000,
        label: `kubeadm, kubelet, kubectl ${version.text} in their repository`,
      });
      if (found.code !== 0) problems.push(`cannot reach the packages of ${version.text}: ${lastLines(found)}`);
    }
    if (isInitNode(model, node) && !problems.length) {
      const ready = await step.probe(`${KUBECTL} get --raw=/readyz`, { check: false, timeoutMs: 30_000 });
      if (ready.code !== 0 || ready.stdout.trim() !== 'ok')
        problems.push(`the API server is not ready (its /readyz covers etcd): ${lastLines(ready)}`);
      const [first] = versions;
      if (first && online) {
        const plan = await step.probe(scratchPlanScript(model, first), {
          check: false,
          timeoutMs: 5 * 60_000,
          label: `kubeadm ${first.text} upgrade plan (unpacked in scratch)`,
        });
        if (plan.code !== 0)
          problems.push(`kubeadm ${first.text}'s upgrade plan refuses the cluster:\n${lastLines(plan, 20)}`);
        else step.note(`kubeadm ${first.text} upgrade plan: clean`);
      }
    }
    if (problems.length)
      throw new Error(
        `${node.name}: not ready for the upgrade; nothing was changed:\n${problems.map((p) => `  - ${p}`).join('\n')}`,
      );
  }
}

/**
 * The first step's `kubeadm upgrade plan`, from the bundle's kubeadm binary (a copy in
 * scratch: the bundle's files are not executable), once the bundle is on the hosts.
 */
export class BundledUpgradePlanPhase implements Phase<NodeHost> {
  readonly title: string;

  constructor(
    private readonly model: ClusterModel,
    private readonly version: KubernetesVersion,
    private readonly bundleDir: string,
  ) {
    this.title = `kubeadm ${version.text} upgrade plan (the bundle's kubeadm)`;
  }

  hosts(all: readonly NodeHost[]): NodeHost[] {
    return all.filter((h) => isInitNode(this.model, h.node));
  }

  async run(step: HostStep<NodeHost>): Promise<void> {
    const v = this.version.text;
    const plan = await step.probe(
      script(
        'd=$(mktemp -d /tmp/kubestrap-upgrade.XXXXXX)',
        'trap \'rm -rf "$d"\' EXIT',
        `install -m 0755 ${shellQuote(`${this.bundleDir}/binaries/kubeadm`)} "$d/kubeadm"`,
        `"$d/kubeadm" upgrade plan v${v} 2>&1`,
      ),
      { check: false, timeoutMs: 5 * 60_000, label: `kubeadm ${v} upgrade plan (from the bundle)` },
    );
    if (plan.code !== 0)
      throw new Error(
        `${step.host.node.name}: kubeadm ${v}'s upgrade plan refuses the cluster; only the bundle was copied to ` +
          `the hosts, no package or configuration changed:\n${lastLines(plan, 20)}`,
      );
    step.note(`kubeadm ${v} upgrade plan: clean`);
  }
}

function lastLines(result: { stdout: string; stderr: string }, lines = 5): string {
  return `${result.stdout}${result.stderr}`.trim().split('\n').slice(-lines).join('\n') || '(no output)';
}
