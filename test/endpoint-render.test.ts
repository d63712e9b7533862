// The managed control-plane endpoint (keepalived + haproxy) as rendered for the ha
// fixture's three control planes: what each file says, and whether the real tools accept
// it. keepalived -t exits non-zero on its warnings too, so exit 0 means a clean config.
import { chmodSync, cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadSpec, loadSpecText } from '../spec/load.js';
import { defaultVirtualRouterId, type ClusterModel, type NodeModel } from '../spec/model.js';
import {
  apiserverCheckScript,
  endpointFiles,
  haproxyConfig,
  keepalivedConf,
  vrrpPlan,
  type KeepalivedRuntime,
} from '../templates/endpoint.js';
import {
  ENDPOINT_SYSCTL_CONF,
  HAPROXY_CONFIG,
  HAPROXY_DROP_IN,
  KEEPALIVED_CHECK_SCRIPT,
  KEEPALIVED_DROP_IN,
} from '../templates/node-paths.js';
import { isInitNode } from '../templates/kubeadm/index.js';
import { renderCluster } from '../templates/render.js';
import { FIXTURE_DIR } from './support/fixtures.js';
import { missingTools, run } from './support/tools.js';

const PASSWORD = 'Vr9pPw4x';
const RUNTIME: KeepalivedRuntime = { interface: 'eth1', password: PASSWORD };

async function ha(): Promise<{ model: ClusterModel; controlPlanes: NodeModel[] }> {
  const { model } = await loadSpec(join(FIXTURE_DIR, 'ha.yaml'));
  return { model, controlPlanes: model.nodes.filter((n) => n.role === 'control-plane') };
}

/** One line's words after a keyword, e.g. `priority 254` → ['254']. */
function setting(conf: string, keyword: string): string[] {
  const line = conf.split('\n').find((l) => l.trim().startsWith(`${keyword} `));
  if (!line) throw new Error(`no ${keyword} in\n${conf}`);
  return line.trim().split(/\s+/).slice(1);
}

function block(conf: string, name: string): string[] {
  const match = new RegExp(`\\n\\s*${name} \\{\\n([^}]*)\\}`).exec(conf);
  return match
    ? match[1]!
        .trim()
        .split('\n')
        .map((l) => l.trim())
    : [];
}

const SPEC = (endpoint: string, controlPlanes = 3) => `apiVersion: kubestrap.dev/v1alpha1
kind: Cluster
metadata:
  name: lab
spec:
  kubernetes:
${endpoint}
  machines:
    network: 192.168.56.0/24
    nodes:
      - name: cp
        count: ${controlPlanes}
        role: control-plane
        ip: 192.168.56.11
      - name: w
        ip: 192.168.56.21
        disks:
          - size: 10
`;

describe('keepalived.conf', () => {
  it('puts the init node on top, with a check weight larger than the priority spread', async () => {
    const { model, controlPlanes } = await ha();
    const priorities = controlPlanes.map((n) => Number(setting(keepalivedConf(model, n, RUNTIME), 'priority')[0]));
    expect(priorities).toEqual([254, 244, 234]);
    // The top is the node that runs kubeadm init, which the init phase picks the same way.
    expect(isInitNode(model, controlPlanes[0]!)).toBe(true);
    const weight = Number(setting(keepalivedConf(model, controlPlanes[0]!, RUNTIME), 'weight')[0]);
    const spread = Math.max(...priorities) - Math.min(...priorities);
    expect(weight).toBeLessThan(-spread);
    // A failing init node ranks below every healthy one, and failing nodes keep their order.
    expect(priorities[0]! + weight).toBeLessThan(Math.min(...priorities));
    for (const n of [1, 2, 3, 5, 7, 9, 51]) {
      const nodes = Array.from({ length: n }, (_, i) => ({ role: 'control-plane', name: `cp${i}` }) as NodeModel);
      const plans = nodes.map((node) => vrrpPlan({ nodes } as unknown as ClusterModel, node));
      const ps = plans.map((p) => p.priority);
      expect(new Set(ps).size, `${n} control planes`).toBe(n);
      expect(Math.min(...ps), `${n} control planes`).toBeGreaterThanOrEqual(1);
      expect(plans[0]!.checkWeight, `${n} control planes`).toBeGreaterThan(Math.max(...ps) - Math.min(...ps));
    }
  });

  it('names every other control plane as a unicast peer, never the node itself', async () => {
    const { model, controlPlanes } = await ha();
    for (const node of controlPlanes) {
      const conf = keepalivedConf(model, node, RUNTIME);
      expect(setting(conf, 'unicast_src_ip')).toEqual([node.ip]);
      expect(block(conf, 'unicast_peer')).toEqual(controlPlanes.filter((n) => n !== node).map((n) => n.ip));
      expect(block(conf, 'unicast_peer')).not.toContain(node.ip);
    }
  });

  it('holds the VIP with the node network prefix on the interface, with the router ids and BACKUP state', async () => {
    const { model, controlPlanes } = await ha();
    for (const node of controlPlanes) {
      const conf = keepalivedConf(model, node, RUNTIME);
      expect(block(conf, 'virtual_ipaddress')).toEqual(['192.168.56.9/24 dev eth1']);
      expect(setting(conf, 'interface')).toEqual(['eth1']);
      expect(setting(conf, 'router_id')).toEqual([node.hostname]);
      expect(setting(conf, 'virtual_router_id')).toEqual([String(defaultVirtualRouterId('ha'))]);
      expect(setting(conf, 'state')).toEqual(['BACKUP']);
      expect(setting(conf, 'advert_int')).toEqual(['1']);
      expect(block(conf, 'global_defs')).toEqual(
        expect.arrayContaining(['enable_script_security', 'script_user root']),
      );
      expect(setting(conf, 'script')).toEqual([`"${KEEPALIVED_CHECK_SCRIPT}"`]);
      expect(block(conf, 'track_script')).toEqual(['kubestrap_apiserver']);
    }
  });

  it("takes the spec's interface and router id over the host's, and renders the same bytes twice", () => {
    const { model } = loadSpecText(
      SPEC(
        '    controlPlaneEndpoint:\n      address: 192.168.56.10\n      managed: keepalived-haproxy\n' +
          '      interface: enp0s8\n      virtualRouterId: 77',
      ),
      'spec.yaml',
    );
    const node = model.nodes[1]!;
    const conf = keepalivedConf(model, node, RUNTIME);
    expect(setting(conf, 'interface')).toEqual(['enp0s8']);
    expect(block(conf, 'virtual_ipaddress')).toEqual(['192.168.56.10/24 dev enp0s8']);
    expect(setting(conf, 'virtual_router_id')).toEqual(['77']);
    expect(keepalivedConf(model, node, RUNTIME)).toBe(conf);
  });

  it('has the password only in auth_pass, and refuses one VRRP cannot carry', async () => {
    const { model, controlPlanes } = await ha();
    const conf = keepalivedConf(model, controlPlanes[0]!, RUNTIME);
    expect(conf.split('\n').filter((l) => l.includes(PASSWORD))).toEqual([`    auth_pass ${PASSWORD}`]);
    for (const bad of ['short', 'toolong12', 'has space', 'x#comment'])
      expect(() => keepalivedConf(model, controlPlanes[0]!, { ...RUNTIME, password: bad }), bad).toThrow(/password/);
    expect(() => keepalivedConf(model, controlPlanes[0]!, { ...RUNTIME, interface: 'eth1 # x' })).toThrow(/unquoted/);
  });

  it('has no unicast settings with a lone control plane (keepalived warns about unicast without peers)', () => {
    const { model } = loadSpecText(
      SPEC('    controlPlaneEndpoint:\n      address: 192.168.56.10\n      managed: keepalived-haproxy', 1),
      'spec.yaml',
    );
    const conf = keepalivedConf(model, model.nodes[0]!, RUNTIME);
    expect(conf).not.toMatch(/unicast/);
    expect(setting(conf, 'priority')).toEqual(['254']);
    expect(Number(setting(conf, 'weight')[0])).toBeLessThan(0);
  });
});

describe('the derived VRRP router id', () => {
  it('is stable, within 1..255, and differs between cluster names', () => {
    expect(defaultVirtualRouterId('ha')).toBe(defaultVirtualRouterId('ha'));
    const ids = ['ha', 'lab', 'prod', 'staging', 'a', 'b'].map(defaultVirtualRouterId);
    for (const id of ids) expect(id >= 1 && id <= 255 && Number.isInteger(id), String(id)).toBe(true);
    expect(new Set(ids).size).toBe(ids.length);
  });
});

describe('haproxy.cfg and the rendered files', () => {
  it('listens on VIP:port in TCP mode and checks every control plane over TLS on /healthz', async () => {
    const { model, controlPlanes } = await ha();
    const cfg = haproxyConfig(model);
    expect(setting(cfg, 'bind')).toEqual(['192.168.56.9:8443']);
    expect(setting(cfg, 'mode')).toEqual(['tcp']);
    expect(setting(cfg, 'option')).toEqual(['tcplog']);
    expect(cfg).toMatch(/^  option httpchk GET \/healthz$/m);
    expect(setting(cfg, 'http-check')).toEqual(['expect', 'status', '200']);
    expect(setting(cfg, 'default-server')).toEqual(expect.arrayContaining(['check', 'check-ssl', 'verify', 'none']));
    expect(cfg.split('\n').filter((l) => l.trim().startsWith('server '))).toEqual(
      controlPlanes.map((n) => `  server ${n.name} ${n.ip}:6443`),
    );
  });

  it('renders haproxy, check script, drop-ins and sysctl on control planes only, without a secret', async () => {
    const { model } = await ha();
    const files = renderCluster(model);
    for (const node of model.nodes) {
      const targets = files.filter((f) => f.node === node.name).map((f) => f.target);
      const endpoint = [
        KEEPALIVED_CHECK_SCRIPT,
        KEEPALIVED_DROP_IN,
        HAPROXY_CONFIG,
        HAPROXY_DROP_IN,
        ENDPOINT_SYSCTL_CONF,
      ];
      if (node.role === 'control-plane') expect(targets).toEqual(expect.arrayContaining(endpoint));
      else for (const path of endpoint) expect(targets, node.name).not.toContain(path);
      expect(targets).not.toContain('/etc/keepalived/keepalived.conf');
    }
    for (const file of files) expect(file.content, file.path).not.toMatch(/auth_pass|auth_type/);
    expect(files.find((f) => f.target === KEEPALIVED_CHECK_SCRIPT)?.mode).toBe(0o755);
    expect(files.find((f) => f.target === ENDPOINT_SYSCTL_CONF)?.content).toMatch(/^net\.ipv4\.ip_nonlocal_bind = 1$/m);
  });

  it('renders none of it for an external endpoint or none at all, and keeps host:port for kubeadm', () => {
    for (const endpoint of [
      '    controlPlaneEndpoint: 192.168.56.9:6443',
      '    controlPlaneEndpoint:\n      address: lb.lab.local\n      managed: external\n      port: 443',
    ]) {
      const { model } = loadSpecText(SPEC(endpoint), 'spec.yaml');
      expect(model.kubernetes.endpoint.mode).toBe('external');
      for (const node of model.nodes) expect(endpointFiles(model, node)).toEqual([]);
      expect(() => keepalivedConf(model, model.nodes[0]!, RUNTIME)).toThrow(/not managed/);
    }
    const single = loadSpecText(SPEC('    version: 1.34.2', 1), 'spec.yaml').model;
    expect(single.kubernetes.endpoint).toEqual({ mode: 'first-node', host: '192.168.56.11', port: 6443, dnsNames: [] });
    expect(single.kubernetes.controlPlaneEndpoint).toBe('192.168.56.11:6443');
    expect(single.nodes.flatMap((n) => endpointFiles(single, n))).toEqual([]);
  });

  it('points kubeadm at VIP:port and puts the VIP into the API server certificate', async () => {
    const { model } = await ha();
    expect(model.kubernetes.controlPlaneEndpoint).toBe('192.168.56.9:8443');
    const kubeadm = renderCluster(model).find((f) => f.path === 'nodes/cp1/etc/kubernetes/kubeadm.conf')!.content;
    expect(kubeadm).toMatch(/^controlPlaneEndpoint: 192\.168\.56\.9:8443$/m);
    expect(kubeadm).toMatch(/certSANs:\n\s+- 192\.168\.56\.9\n/);
  });

  it("puts the endpoint's DNS names into the API server certificate, and refuses a name that is not one", () => {
    const endpoint = (names: string) =>
      `    controlPlaneEndpoint:\n      address: 192.168.56.9\n      managed: keepalived-haproxy\n` +
      `      dnsNames: ${names}`;
    const { model } = loadSpecText(SPEC(endpoint('[api.lab.example, k8s]')), 'spec.yaml');
    expect(model.kubernetes.endpoint.dnsNames).toEqual(['api.lab.example', 'k8s']);
    const kubeadm = renderCluster(model).find((f) => f.path === 'nodes/cp1/etc/kubernetes/kubeadm.conf')!.content;
    expect(kubeadm).toMatch(/certSANs:\n\s+- 192\.168\.56\.9\n\s+- api\.lab\.example\n\s+- k8s\n/);
    // Kubeconfigs and joins keep the address: a lab's DNS may not know the name.
    expect(kubeadm).toMatch(/^controlPlaneEndpoint: 192\.168\.56\.9:8443$/m);
    expect(() => loadSpecText(SPEC(endpoint('["api lab"]')), 'spec.yaml')).toThrow(
      /spec\.yaml:\d+.*dnsNames.*must be a lowercase DNS name/s,
    );
  });
});

describe('the check script', () => {
  function check(curl: string): number | null {
    const bin = mkdtempSync(join(tmpdir(), 'endpoint-curl-'));
    writeFileSync(join(bin, 'curl'), `#!/bin/sh\n${curl}\n`);
    chmodSync(join(bin, 'curl'), 0o755);
    const script = join(bin, 'check.sh');
    writeFileSync(script, apiserverCheckScript());
    return run('sh', [script], { env: { PATH: `${bin}:/usr/bin:/bin` } }).status;
  }

  it('is healthy only when the local API server answers ok', () => {
    expect(check('printf ok')).toBe(0);
    expect(check('printf "[-]etcd failed"; exit 22')).not.toBe(0);
    expect(check('printf ""; exit 28')).not.toBe(0);
    expect(check('printf "not ok"')).not.toBe(0);
  });
});

const keepalivedMissing = missingTools('keepalived');
const haproxyMissing = missingTools('haproxy');
const shellcheckMissing = missingTools('shellcheck');
const systemdMissing = missingTools('systemd-analyze', 'keepalived', 'haproxy');

/** An interface this machine has: keepalived -t refuses one that does not exist. */
function localInterface(): string {
  const names = readdirSync('/sys/class/net')
    .filter((n) => n !== 'lo' && existsSync(join('/sys/class/net', n, 'ifindex')))
    .sort();
  if (!names[0]) throw new Error('no network interface besides lo to test keepalived with');
  return names[0];
}

/** keepalived -t over one node's config, with the check script at a path keepalived deems safe. */
function keepalivedTest(conf: (checkScript: string) => string): { status: number | null; output: string } {
  const dir = mkdtempSync(join(tmpdir(), 'endpoint-keepalived-'));
  const script = join(dir, 'kubestrap-check-apiserver.sh');
  writeFileSync(script, apiserverCheckScript());
  chmodSync(script, 0o755);
  writeFileSync(join(dir, 'keepalived.conf'), conf(script));
  const result = run('keepalived', ['-t', '-l', '-f', join(dir, 'keepalived.conf')]);
  return { status: result.status, output: result.stdout + result.stderr };
}

describe.skipIf(keepalivedMissing)(
  `keepalived -t${keepalivedMissing ? ` (skipped: ${keepalivedMissing})` : ''}`,
  () => {
    it('accepts every control plane config without a warning, three nodes and one', async () => {
      const { model, controlPlanes } = await ha();
      const single = loadSpecText(
        SPEC('    controlPlaneEndpoint:\n      address: 192.168.56.10\n      managed: keepalived-haproxy', 1),
        'spec.yaml',
      ).model;
      const cases = [...controlPlanes.map((n) => [model, n] as const), [single, single.nodes[0]!] as const];
      for (const [m, node] of cases) {
        const result = keepalivedTest((checkScript) =>
          keepalivedConf(m, node, { interface: localInterface(), password: PASSWORD, checkScript }),
        );
        expect(result, node.name).toEqual({ status: 0, output: '' });
      }
    });

    it('fails without enable_script_security (the check can fail)', async () => {
      const { model, controlPlanes } = await ha();
      const result = keepalivedTest((checkScript) =>
        keepalivedConf(model, controlPlanes[0]!, {
          interface: localInterface(),
          password: PASSWORD,
          checkScript,
        }).replace('  enable_script_security\n', ''),
      );
      expect(result.status).not.toBe(0);
      expect(result.output).toMatch(/script_security not enabled/);
    });
  },
);

describe.skipIf(haproxyMissing)(`haproxy -c${haproxyMissing ? ` (skipped: ${haproxyMissing})` : ''}`, () => {
  function check(cfg: string) {
    const path = join(mkdtempSync(join(tmpdir(), 'endpoint-haproxy-')), 'kubestrap.cfg');
    writeFileSync(path, cfg);
    return run('haproxy', ['-c', '-f', path]);
  }

  it('accepts the config without a warning', async () => {
    const result = check(haproxyConfig((await ha()).model));
    expect(result.stdout + result.stderr).not.toMatch(/WARNING|ALERT/);
    expect(result.stdout).toContain('Configuration file is valid');
    expect(result.status).toBe(0);
  });

  it('rejects a broken one (the check can fail)', async () => {
    const result = check(haproxyConfig((await ha()).model).replace('verify none', 'verify nothing'));
    expect(result.status).not.toBe(0);
    expect(result.stderr).toMatch(/unknown verify method/);
  });
});

describe.skipIf(shellcheckMissing)(`shellcheck${shellcheckMissing ? ` (skipped: ${shellcheckMissing})` : ''}`, () => {
  it('finds nothing in the check script', () => {
    const path = join(mkdtempSync(join(tmpdir(), 'endpoint-shellcheck-')), 'check.sh');
    writeFileSync(path, apiserverCheckScript());
    const result = run('shellcheck', ['-f', 'gcc', path]);
    expect(result.stdout + result.stderr).toBe('');
    expect(result.status).toBe(0);
  });
});

describe.skipIf(systemdMissing)(
  `keepalived and haproxy drop-ins with systemd-analyze verify${systemdMissing ? ` (skipped: ${systemdMissing})` : ''}`,
  () => {
    it('verify clean against the packaged units', async () => {
      const { model, controlPlanes } = await ha();
      const root = mkdtempSync(join(tmpdir(), 'endpoint-systemd-'));
      mkdirSync(join(root, 'usr/sbin'), { recursive: true });
      mkdirSync(join(root, 'usr/lib/systemd'), { recursive: true });
      cpSync('/lib/systemd/system', join(root, 'usr/lib/systemd/system'), {
        recursive: true,
        dereference: false,
        verbatimSymlinks: true,
      });
      mkdirSync(join(root, 'bin'));
      // The binaries the packaged units' ExecStart and ExecReload name.
      for (const binary of ['usr/sbin/keepalived', 'usr/sbin/haproxy', 'bin/kill']) {
        writeFileSync(join(root, binary), '#!/bin/sh\n');
        chmodSync(join(root, binary), 0o755);
      }
      for (const [target, , content] of endpointFiles(model, controlPlanes[0]!)) {
        mkdirSync(join(root, target, '..'), { recursive: true });
        writeFileSync(join(root, target), content);
      }
      const result = run('systemd-analyze', ['verify', `--root=${root}`, 'keepalived.service', 'haproxy.service']);
      expect(`${result.status}\n${result.stdout}${result.stderr}`).toBe('0\n');
    });
  },
);
