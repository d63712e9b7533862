// Every artifact of a cluster, as data: path, mode, bytes. Pure and deterministic
// (no clock, no randomness, no I/O but reading our own templates), so the same spec
// always renders the same bytes and a re-render can tell exactly what changed.
import type { ClusterModel, NodeModel } from '../spec/model.js';
import { endpointFiles } from './endpoint.js';
import { fillTemplate } from './handlebars.js';
import { hostsBlock, modulesLoad, sysctlConf } from './host-files.js';
import { renderKubeadmConfig } from './kubeadm/index.js';
import {
  BOOTSTRAP_KUBELET_CONF,
  CNI_CONF_DIR,
  CONTAINERD_CONFIG,
  HOSTS_BLOCK,
  KUBEADM_CONF,
  KUBELET_CONF,
  KUBELET_DEFAULTS,
  KUBELET_DROP_IN,
  KUBELET_UNIT,
  MODULES_LOAD_CONF,
  SYSCTL_CONF,
} from './node-paths.js';
import { rookResources } from './rook.js';
import { vagrantConfig, vagrantfile } from './vagrant.js';
import { weaveManifest } from './weave.js';
import { toYaml, toYamlDocuments } from './yaml.js';
import { sha256 } from '../base/digest.js';

export interface RenderedFile {
  /** Path inside the render directory. */
  readonly path: string;
  readonly mode: number;
  readonly content: string;
  /** For node files: the node it belongs to and its absolute path there. */
  readonly node?: string;
  readonly target?: string;
}

export interface ManifestEntry {
  readonly path: string;
  readonly mode: string;
  readonly sha256: string;
  readonly node?: string;
  readonly target?: string;
}

export interface RenderManifest {
  readonly kind: 'RenderManifest';
  readonly cluster: string;
  readonly files: readonly ManifestEntry[];
}

export const MANIFEST_PATH = 'manifest.json';

function nodeFiles(model: ClusterModel, node: NodeModel): RenderedFile[] {
  const defaultsFile = KUBELET_DEFAULTS[model.os.family];
  const containerd = `containerd/config-v${model.runtime.containerdConfigVersion}.toml.hbs`;
  const files: [string, number, string][] = [
    // kubeadm.conf holds no secret (join credentials live in a separate, short-lived
    // file), but it describes the control plane: keep it root-only anyway.
    [KUBEADM_CONF, 0o600, renderKubeadmConfig(model, node)],
    [KUBELET_UNIT, 0o644, fillTemplate('systemd/kubelet.service.hbs', {})],
    [
      KUBELET_DROP_IN,
      0o644,
      fillTemplate('systemd/10-kubeadm.conf.hbs', {
        defaultsFile,
        bootstrapKubeconfig: BOOTSTRAP_KUBELET_CONF,
        kubeconfig: KUBELET_CONF,
      }),
    ],
    [defaultsFile, 0o644, fillTemplate('systemd/kubelet-defaults.hbs', { ip: node.ip })],
    [
      CONTAINERD_CONFIG,
      0o644,
      fillTemplate(containerd, { sandboxImage: model.runtime.sandboxImage, cniConfDir: CNI_CONF_DIR }),
    ],
    [MODULES_LOAD_CONF, 0o644, modulesLoad()],
    [SYSCTL_CONF, 0o644, sysctlConf()],
    [HOSTS_BLOCK, 0o644, hostsBlock(model)],
    ...endpointFiles(model, node),
  ];
  return files.map(([target, mode, content]) => ({
    path: `nodes/${node.name}${target}`,
    mode,
    content,
    node: node.name,
    target,
  }));
}

function clusterFiles(model: ClusterModel): RenderedFile[] {
  const files: RenderedFile[] = [
    { path: 'cluster/weave-net.yaml', mode: 0o644, content: toYaml(weaveManifest(model)) },
  ];
  if (model.rook.enabled)
    files.push({ path: 'cluster/rook-cluster.yaml', mode: 0o644, content: toYamlDocuments(rookResources(model)) });
  return files;
}

function machineFiles(model: ClusterModel): RenderedFile[] {
  if (model.machines.provider === 'existing') return [];
  return [
    { path: 'Vagrantfile', mode: 0o644, content: vagrantfile(model) },
    { path: 'vagrant_config.yml', mode: 0o644, content: vagrantConfig(model) },
  ];
}

export function manifestOf(model: ClusterModel, files: readonly RenderedFile[]): RenderManifest {
  return {
    kind: 'RenderManifest',
    cluster: model.name,
    files: files.map((f) => ({
      path: f.path,
      mode: f.mode.toString(8).padStart(4, '0'),
      sha256: sha256(f.content),
      ...(f.node ? { node: f.node, target: f.target } : {}),
    })),
  };
}

/** All artifacts, sorted by path, with the render manifest last. */
export function renderCluster(model: ClusterModel): RenderedFile[] {
  const files = [
    ...machineFiles(model),
    ...clusterFiles(model),
    ...model.nodes.flatMap((n) => nodeFiles(model, n)),
  ].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  const manifest = `${JSON.stringify(manifestOf(model, files), null, 2)}\n`;
  return [...files, { path: MANIFEST_PATH, mode: 0o644, content: manifest }];
}
