// Hostile and broken spec files, shared by the CLI tests (each refused with exit 2 and a
// position) and bench/hostile-spec.ts (each refused fast and in little memory).

const HEAD = `apiVersion: kubestrap.dev/v1alpha1
kind: Cluster
metadata:
  name: lab
spec:
  machines:
    nodes:
`;
const CONTROL_PLANE = '      - name: cp\n        role: control-plane\n        ip: 192.168.56.10\n';

export interface HostileSpec {
  readonly name: string;
  /** The file's content; `path` instead names a file that exists already (a device). */
  readonly content?: () => string | Buffer;
  readonly path?: string;
  /** `line:column` of the problem and what the message says. */
  readonly at: string;
  readonly message: RegExp;
}

/** Nested aliases: each level lists the one before ten times (10^levels values). */
function billionLaughs(levels: number): string {
  const lines = [`a0: &a0 [${Array(10).fill('"lol"').join(', ')}]`];
  for (let i = 1; i <= levels; i++)
    lines.push(
      `a${i}: &a${i} [${Array(10)
        .fill(`*a${i - 1}`)
        .join(', ')}]`,
    );
  return `${lines.join('\n')}\n`;
}

export const HOSTILE_SPECS: readonly HostileSpec[] = [
  { name: '/dev/zero', path: '/dev/zero', at: '1:1', message: /is not a text file \(it contains a NUL byte\)/ },
  {
    name: 'billion laughs (10^12 values in 1 KiB)',
    content: () => billionLaughs(12),
    at: '6:10',
    message: /aliases expand the spec to more than 200000 values/,
  },
  {
    name: 'alias bomb: 4,000 aliases of one 2,000-key mapping (50 KB)',
    content: () =>
      `labels: &l {${Array.from({ length: 2000 }, (_, i) => `k${i}: v`).join(', ')}}\n` +
      `n: [${Array(4000).fill('*l').join(', ')}]\n`,
    at: '2:197',
    message: /aliases expand the spec to more than 200000 values/,
  },
  {
    name: '101 aliases of one word',
    content: () => `a: &a x\nb: [${Array(101).fill('*a').join(', ')}]\n`,
    at: '2:405',
    message: /more than 100 aliases/,
  },
  {
    name: 'alias inside its own anchor',
    content: () => `${HEAD}${CONTROL_PLANE}        labels: &l\n          a: *l\n`,
    at: '12:14',
    message: /alias \*l is inside its own anchor/,
  },
  {
    name: '100,000 nested brackets',
    content: () => `a: ${'['.repeat(100_000)}${']'.repeat(100_000)}\n`,
    at: '1:36',
    message: /YAML nests deeper than 32 levels/,
  },
  {
    name: '100,000 nested block sequences on one line',
    content: () => `${'- '.repeat(100_000)}x\n`,
    at: '1:65',
    message: /YAML nests deeper than 32 levels/,
  },
  {
    name: '10,000 nodes in 1.2 KB (20 groups of 500)',
    content: () =>
      HEAD +
      CONTROL_PLANE +
      Array.from({ length: 20 }, (_, i) => `      - name: g${i}\n        count: 500\n        ip: 10.${i}.0.1\n`).join(
        '',
      ),
    at: '7:5',
    message: /make 10001 nodes once groups are expanded; kubestrap supports at most 500/,
  },
  {
    name: 'a 50 MB value',
    content: () => HEAD.replace('name: lab', `name: ${'a'.repeat(50 * 1024 * 1024)}`),
    at: '1:1',
    message: /is larger than 256 KiB/,
  },
  {
    name: 'a 200 KB value',
    content: () => HEAD.replace('name: lab', `name: ${'a'.repeat(200 * 1024)}`),
    at: '4:9',
    message: /is 204800 characters long \("a{80}"… \(204800 characters\)\); at most 4096 are allowed/,
  },
  {
    name: 'a binary file',
    content: () => Buffer.from([0x7f, 0x45, 0x4c, 0x46, 0x02, 0x01, 0x01, 0x00, 0x00]),
    at: '1:8',
    message: /is not a text file/,
  },
  {
    name: 'Latin-1 text',
    content: () => {
      const [before, after] = HEAD.split('name: lab');
      return Buffer.concat([Buffer.from(`${before}name: caf`), Buffer.from([0xe9]), Buffer.from(after!)]);
    },
    at: '4:12',
    message: /is not UTF-8 text/,
  },
  {
    name: '10,000 labels on one node (duplicate keys checked in linear time)',
    content: () =>
      HEAD +
      CONTROL_PLANE +
      '        labels:\n' +
      Array.from({ length: 10_000 }, (_, i) => `          k${i}: v\n`).join('') +
      '          k0: again\n',
    at: '10012:11',
    message: /YAML has a duplicate key: "k0" \(first at line 12\)/,
  },
];
