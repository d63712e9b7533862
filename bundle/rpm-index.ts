// An rpm repository's metadata, read the way dnf reads it: repodata/repomd.xml (its
// detached signature repomd.xml.asc checked with gpgv when the repository publishes
// one), the sha256 repomd.xml gives for primary.xml, then each package's name,
// version, dependencies, the files dependencies may name, and its own sha256. The
// comps group `core` (a minimal install), when the repository has comps, tells which
// packages every host of that OS already has. A repository that signs its metadata has
// it all kept (repomd.xml, its signature, every file it lists, each checked by sha256) so
// a bundle can give the hosts' dnf the same signed chain to check.
import { gunzipSync } from 'node:zlib';
import sax from 'sax';
import { fetchBytes, fetchIfPresent } from '../base/download.js';
import { MACHINE_NAME } from './format.js';
import type { RpmDependency } from './rpm-relation.js';
import type { Evr, RpmFlag } from './rpm-version.js';
import { RepositoryError, verifyDetached } from './signature.js';
import { sha256 } from '../base/digest.js';

export interface RpmRepository {
  /** The directory holding repodata/ (a yum baseurl). */
  readonly url: string;
  /** The repository's signing key (ASCII-armoured or binary OpenPGP), as bytes. */
  readonly key: Buffer;
}

export interface RpmPackage {
  readonly name: string;
  readonly arch: string;
  readonly evr: Required<Evr>;
  readonly requires: readonly RpmDependency[];
  readonly provides: readonly RpmDependency[];
  /** The files primary.xml lists (binaries and /etc): what file dependencies can name. */
  readonly files: readonly string[];
  readonly url: string;
  readonly filename: string;
  readonly size: number;
  readonly sha256: string;
  /** The repository it came from (its url), for the signature check of its packages. */
  readonly repository: string;
}

export interface RpmIndex {
  readonly repository: RpmRepository;
  readonly packages: readonly RpmPackage[];
  /** Mandatory and default members of the comps group `core`; empty without comps. */
  readonly coreGroup: readonly string[];
  /** repomd.xml carried a good signature; otherwise each package's own signature must be checked. */
  readonly metadataSigned: boolean;
  /** With signed metadata: repodata/repomd.xml, its .asc, and every file it lists, as published. */
  readonly signedFiles: readonly { readonly path: string; readonly bytes: Buffer }[];
}

const base = (url: string) => `${url.replace(/\/+$/, '')}/`;

interface MetadataEntry {
  readonly href: string;
  readonly checksumType: string;
  readonly checksum: string;
}

/** Walks an XML text with sax; `on` gets each open tag (with its path) and the text of each closed one. */
function walkXml(
  text: string,
  where: string,
  on: {
    open?: (name: string, attributes: Record<string, string>, path: readonly string[]) => void;
    close?: (name: string, text: string, path: readonly string[]) => void;
  },
): void {
  const parser = sax.parser(true, { trim: false, normalize: false });
  const path: string[] = [];
  let buffer = '';
  parser.onopentag = (tag) => {
    path.push(tag.name);
    buffer = '';
    on.open?.(tag.name, tag.attributes as Record<string, string>, path);
  };
  parser.ontext = (t) => {
    buffer += t;
  };
  parser.oncdata = (t) => {
    buffer += t;
  };
  parser.onclosetag = (name) => {
    on.close?.(name, buffer, path);
    path.pop();
    buffer = '';
  };
  parser.onerror = (error) => {
    throw new RepositoryError(`${where}: not well-formed XML: ${error.message.split('\n')[0]}`);
  };
  parser.write(text).close();
}

export function parseRepomd(text: string, where: string): Map<string, MetadataEntry> {
  const out = new Map<string, MetadataEntry>();
  let type = '';
  let href = '';
  let checksumType = '';
  let checksum = '';
  walkXml(text, where, {
    open: (name, a) => {
      if (name === 'data') [type, href, checksumType, checksum] = [a.type ?? '', '', '', ''];
      else if (name === 'location') href = a.href ?? '';
      else if (name === 'checksum') checksumType = a.type ?? '';
    },
    close: (name, text) => {
      if (name === 'checksum') checksum = text.trim();
      else if (name === 'data' && type && href) out.set(type, { href, checksumType, checksum });
    },
  });
  return out;
}

function entry(a: Record<string, string>): RpmDependency {
  const flag = a.flags as RpmFlag | undefined;
  return flag && a.ver !== undefined
    ? {
        name: a.name ?? '',
        flag,
        evr: { epoch: Number(a.epoch ?? 0), version: a.ver, ...(a.rel !== undefined ? { release: a.rel } : {}) },
      }
    : { name: a.name ?? '' };
}

export function parsePrimary(
  text: string,
  repositoryUrl: string,
  arches: readonly string[],
  where: string,
): RpmPackage[] {
  const packages: RpmPackage[] = [];
  type Draft = { -readonly [K in keyof RpmPackage]: RpmPackage[K] } & {
    checksumType: string;
    requires: RpmDependency[];
    provides: RpmDependency[];
    files: string[];
  };
  let p: Draft | undefined;
  walkXml(text, where, {
    open: (name, a, path) => {
      if (name === 'package') {
        p = {
          name: '',
          arch: '',
          evr: { epoch: 0, version: '', release: '' },
          requires: [],
          provides: [],
          files: [],
          url: '',
          filename: '',
          size: 0,
          sha256: '',
          repository: repositoryUrl,
          checksumType: '',
        };
        return;
      }
      if (!p) return;
      if (name === 'version') p.evr = { epoch: Number(a.epoch ?? 0), version: a.ver ?? '', release: a.rel ?? '' };
      else if (name === 'checksum') p.checksumType = a.type ?? '';
      else if (name === 'size') p.size = Number(a.package ?? 0);
      else if (name === 'location') {
        p.url = new URL(a.href ?? '', a['xml:base'] ? base(a['xml:base']) : base(repositoryUrl)).toString();
        p.filename = (a.href ?? '').replace(/^.*\//, '');
      } else if (name === 'rpm:entry') {
        const list = path[path.length - 2];
        if (list === 'rpm:requires') {
          const dep = entry(a);
          // rpmlib() features are rpm's own; every rpm that can install the package has them.
          if (!dep.name.startsWith('rpmlib(')) p.requires.push(dep);
        } else if (list === 'rpm:provides') p.provides.push(entry(a));
      }
    },
    close: (name, text) => {
      if (!p) return;
      if (name === 'name' && !p.name) p.name = text.trim();
      else if (name === 'arch') p.arch = text.trim();
      else if (name === 'checksum') p.sha256 = text.trim();
      else if (name === 'file') p.files.push(text.trim());
      else if (name === 'package') {
        if (arches.includes(p.arch)) {
          if (p.checksumType !== 'sha256')
            throw new RepositoryError(
              `${where}: ${p.name} has a ${p.checksumType || 'missing'} checksum in primary.xml; ` +
                `kubestrap checks packages by sha256`,
            );
          const { checksumType: _type, ...done } = p;
          packages.push(done);
        }
        p = undefined;
      }
    },
  });
  return packages;
}

/** The mandatory and default packages of comps group `core`. */
export function parseCoreGroup(text: string, where: string): string[] {
  const names: string[] = [];
  let group = '';
  let inCore = false;
  let type = '';
  walkXml(text, where, {
    open: (name, a) => {
      if (name === 'group') [group, inCore] = ['', false];
      else if (name === 'packagereq') type = a.type ?? 'default';
    },
    close: (name, text, path) => {
      if (name === 'id' && path[path.length - 2] === 'group') {
        group = text.trim();
        inCore = group === 'core';
      } else if (name === 'packagereq' && inCore && (type === 'mandatory' || type === 'default'))
        names.push(text.trim());
    },
  });
  return names;
}

/** Fetches a metadata file repomd.xml lists and checks it against repomd's sha256. */
async function metadataBytes(repo: RpmRepository, item: MetadataEntry, where: string): Promise<Buffer> {
  if (item.checksumType !== 'sha256')
    throw new RepositoryError(
      `${where}: repomd.xml gives ${item.href} a ${item.checksumType || 'missing'} checksum; ` +
        `kubestrap checks metadata by sha256`,
    );
  const bytes = await fetchBytes(new URL(item.href, base(repo.url)).toString());
  const have = sha256(bytes);
  if (have !== item.checksum)
    throw new RepositoryError(`${where}: ${item.href} has sha256 ${have}, repomd.xml says ${item.checksum}`);
  return bytes;
}

async function metadataFile(repo: RpmRepository, item: MetadataEntry, where: string): Promise<string> {
  const bytes = await metadataBytes(repo, item, where);
  if (item.href.endsWith('.gz')) return gunzipSync(bytes).toString('utf8');
  if (item.href.endsWith('.xml')) return bytes.toString('utf8');
  // Node 20 has no zstd or xz; dnf mirrors (createrepo_c --compress-type gz) serve gzip.
  throw new RepositoryError(
    `${where}: ${item.href} is compressed in a format kubestrap cannot read (it reads .xml and .xml.gz); ` +
      `mirror the repository with gzip metadata (createrepo_c --general-compress-type gz)`,
  );
}

export async function readRpmIndex(repo: RpmRepository, architecture: keyof typeof MACHINE_NAME): Promise<RpmIndex> {
  const where = `repository ${repo.url}`;
  const arches = [MACHINE_NAME[architecture], 'noarch'];
  const repomdBytes = await fetchBytes(`${base(repo.url)}repodata/repomd.xml`);
  const signature = await fetchIfPresent(`${base(repo.url)}repodata/repomd.xml.asc`);
  if (signature) await verifyDetached(repo.key, repomdBytes, signature, 'repodata/repomd.xml', where);
  const repomd = parseRepomd(repomdBytes.toString('utf8'), `${where} repomd.xml`);
  const primary = repomd.get('primary');
  if (!primary) throw new RepositoryError(`${where}: repomd.xml lists no primary metadata`);
  const packages = parsePrimary(await metadataFile(repo, primary, where), repo.url, arches, `${where} ${primary.href}`);
  const group = repomd.get('group_gz') ?? repomd.get('group');
  const coreGroup = group ? parseCoreGroup(await metadataFile(repo, group, where), `${where} ${group.href}`) : [];
  const signedFiles = signature
    ? [
        { path: 'repodata/repomd.xml', bytes: repomdBytes },
        { path: 'repodata/repomd.xml.asc', bytes: signature },
        ...(await Promise.all(
          [...repomd.values()].map(async (item) => ({
            path: item.href,
            bytes: await metadataBytes(repo, item, where),
          })),
        )),
      ]
    : [];
  return { repository: repo, packages, coreGroup, metadataSigned: signature !== undefined, signedFiles };
}
