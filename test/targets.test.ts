// From spec to SSH target: the spec wins, ~/.ssh/config fills what it leaves out,
// then OpenSSH's defaults.
import { describe, expect, it } from 'vitest';
import { resolveTarget, TargetError, type TargetInputs } from '../ssh/targets.js';

const CONFIG = `
Host 172.20.0.*
  User ops
  Port 2222
  IdentityFile ~/.ssh/missing
  IdentityFile ~/.ssh/lab
  ProxyJump admin@jump.example.net:2200

Host jump.example.net
  IdentityFile ~/.ssh/jump
`;

const keys: Record<string, string> = {
  '/home/u/.ssh/lab': 'LAB KEY',
  '/home/u/.ssh/jump': 'JUMP KEY',
  '/keys/spec': 'SPEC KEY',
};
const inputs = (extra: Partial<TargetInputs> = {}): TargetInputs => ({
  sshConfig: CONFIG,
  home: '/home/u',
  readKey: (path) => {
    if (!(path in keys)) throw Object.assign(new Error('no such file'), { code: 'ENOENT' });
    return Buffer.from(keys[path]!);
  },
  keyExists: (path) => path in keys,
  ...extra,
});

describe('resolveTarget', () => {
  it('fills what the spec leaves out from ~/.ssh/config, including a ProxyJump', () => {
    const target = resolveTarget('m1', { address: '172.20.0.11' }, inputs());
    expect(target).toMatchObject({ name: 'm1', address: '172.20.0.11', port: 2222, user: 'ops' });
    expect(target.privateKey?.toString()).toBe('LAB KEY');
    expect(target.bastion).toMatchObject({ address: 'jump.example.net', port: 2200, user: 'admin' });
    expect(target.bastion?.privateKey?.toString()).toBe('JUMP KEY');
  });

  it('lets the spec win over ~/.ssh/config', () => {
    const target = resolveTarget(
      'm1',
      {
        address: '172.20.0.11',
        user: 'root',
        port: 22,
        keyPath: '/keys/spec',
        bastion: { address: '10.0.0.1', port: 22 },
      },
      inputs(),
    );
    expect(target).toMatchObject({ port: 22, user: 'root', bastion: { address: '10.0.0.1', user: 'root', port: 22 } });
    expect(target.privateKey?.toString()).toBe('SPEC KEY');
  });

  it('falls back to port 22, root and the agent without a config', () => {
    const target = resolveTarget(
      'n1',
      { address: '10.9.9.9' },
      inputs({ sshConfig: undefined, agent: '/run/agent.sock' }),
    );
    expect(target).toEqual({ name: 'n1', address: '10.9.9.9', port: 22, user: 'root', agent: '/run/agent.sock' });
  });

  it('says what to do when there is no key and no agent', () => {
    expect(() => resolveTarget('n1', { address: '10.9.9.9' }, inputs({ sshConfig: undefined }))).toThrow(
      new TargetError(
        'n1: no SSH key for 10.9.9.9: set keyPath in the spec, an IdentityFile in ~/.ssh/config, ' +
          'or start ssh-agent with your key loaded',
      ),
    );
    expect(() => resolveTarget('n1', { address: '10.9.9.9', keyPath: '~/.ssh/nope' }, inputs())).toThrow(
      'n1: cannot read SSH key /home/u/.ssh/nope: ENOENT — fix keyPath in the spec',
    );
  });

  it('refuses a chain of jump hosts, naming the supported alternative', () => {
    expect(() =>
      resolveTarget('n1', { address: 'a' }, inputs({ sshConfig: 'Host a\n  ProxyJump x,y\n', agent: '/s' })),
    ).toThrow(/supports one jump host — set spec bastion instead/);
  });
});
