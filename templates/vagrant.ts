// Vagrantfile + vagrant_config.yml in the source lab's shape: the Vagrantfile is
// fixed Ruby that loads every per-node value from the YAML file beside it.
import type { ClusterModel } from '../spec/model.js';
import { fillTemplate } from './handlebars.js';
import { toYaml } from './yaml.js';

export function vagrantConfig(model: ClusterModel): string {
  const m = model.machines;
  const config = {
    cluster: model.name,
    box: {
      name: m.box.name,
      ...(m.box.version ? { version: m.box.version } : {}),
      storage_controller: m.box.storageController,
    },
    network: { internal: { network: m.network, netmask: m.netmask } },
    linked_clone: m.linkedClones,
    libvirt: {
      driver: m.libvirt.driver,
      storage_pool: m.libvirt.storagePool,
      ...(m.libvirt.emulatorPath ? { emulator_path: m.libvirt.emulatorPath } : {}),
      isolated: m.libvirt.isolated,
    },
    host_groups: Object.fromEntries(model.nodes.map((n) => [n.name, n.ip])),
    nodes: model.nodes.map((n) => ({
      name: n.name,
      hostname: n.hostname,
      role: n.role,
      ip: n.ip,
      cpus: n.cpus,
      memory: n.memoryMiB,
      disks: n.disks.map((d, i) => ({ name: `disk${i + 1}`, size_gb: d.sizeGiB ?? 0 })),
    })),
  };
  return `# Rendered by kubestrap for cluster ${model.name}; read by the Vagrantfile beside it.\n${toYaml(config)}`;
}

export function vagrantfile(model: ClusterModel): string {
  return fillTemplate('vagrant/Vagrantfile.hbs', { name: model.name });
}
