// The bundle's format: one uncompressed tar (its payload — .debs, image archives — is
// compressed already, and a plain tar streams through verification and upload in one
// pass). The first member is bundle.json, listing every other member with its size and
// sha256; a signed bundle's second member is bundle.json.sig, the maker's signature
// over bundle.json (bundle/signing.ts; second, so that a wrong key is refused before
// gigabytes are hashed; not listed in bundle.json, which it signs); the last member,
// bundle.json.sha256, seals bundle.json itself and marks the end, so a truncated archive
// cannot pass for a whole one.
//
// Format 2 (this one) added the signature and keeps each upstream repository's signed
// index (apt's InRelease and Packages, under the repository's own layout) so the hosts'
// apt checks the packages against the repositories' keys (dnf likewise: each rpm
// repository's signed repomd.xml, or its signed packages). Format 1 bundles are refused.
import { z } from 'zod';
import { parseRelations } from './debian-version.js';
import { parseRpmRelation } from './rpm-relation.js';

export const BUNDLE_FORMAT = 2;

/** A bundle's architecture (Debian's names, as the spec has them) → what `uname -m` and rpm call it. */
export const MACHINE_NAME = { amd64: 'x86_64', arm64: 'aarch64' } as const;
export const MANIFEST_NAME = 'bundle.json';
export const SEAL_NAME = 'bundle.json.sha256';
export const SIGNATURE_NAME = 'bundle.json.sig';

const Sha256 = z.string().regex(/^[0-9a-f]{64}$/);

/** Whether a path fits a plain ustar header (name 100, prefix 155): verify refuses extended headers. */
function fitsUstar(path: string): boolean {
  let name = path;
  let prefix = '';
  while (name.length > 100) {
    const slash = name.indexOf('/');
    if (slash < 0) return false;
    prefix += `${prefix ? '/' : ''}${name.slice(0, slash)}`;
    name = name.slice(slash + 1);
  }
  return prefix.length <= 155;
}

// Members live under fixed top-level directories; no absolute paths, no `..`.
const MemberPath = z
  .string()
  .regex(/^(debs|rpms|binaries|images|manifests)\/[A-Za-z0-9._+~:%-]+(\/[A-Za-z0-9._+~:%-]+)*$/)
  .refine((p) => !p.split('/').includes('..'), 'no .. in member paths')
  .refine(fitsUstar, 'too long for a tar header (at most 100 characters after a /, 255 in all)');

// A suite, component or flat directory as a sources.list line has them (the hosts' apt reads them).
const SourceWord = z
  .string()
  .regex(/^[A-Za-z0-9._~+/-]+$/)
  .refine((w) => !w.split('/').includes('..'), 'no .. in a suite');

/** An upstream apt repository the bundle carries with its signed index, laid out as published. */
const AptRepository = z.strictObject({
  /** Its directory in the bundle: the hosts' apt reads it as `file:DIR/PATH`. */
  path: MemberPath,
  suite: SourceWord,
  components: z.array(SourceWord),
  /** The member holding the repository's signing key (.asc armoured, .gpg binary: apt tells them so). */
  key: MemberPath,
  /** The URL it was read from, for the record. */
  source: z.string(),
});

/** An upstream rpm repository the bundle carries, and what the hosts' dnf checks of it. */
const RpmRepository = z.strictObject({
  /** Its directory in the bundle: the hosts' dnf reads it as `baseurl=file://DIR/PATH`. */
  path: MemberPath,
  /** The member holding the repository's signing key. */
  key: MemberPath,
  /**
   * `metadata`: the repository signs repomd.xml, kept as published (dnf: repo_gpgcheck=1);
   * `packages`: it signs each .rpm, the repodata is the bundle's own (dnf: gpgcheck=1).
   */
  check: z.enum(['metadata', 'packages']),
  source: z.string(),
});

const BundleFile = z.strictObject({
  path: MemberPath,
  size: z.int().nonnegative(),
  sha256: Sha256,
  kind: z.enum([
    'deb',
    'deb-index',
    /** A repository's signed InRelease, as it published it. */
    'deb-release',
    /** A repository's signing key, for the hosts' apt or dnf. */
    'repository-key',
    'rpm',
    'rpm-metadata',
    'binary',
    'image',
    'manifest',
  ]),
  /** Where it was fetched from, for the record. */
  source: z.string().optional(),
});

/**
 * A package name or version as apt and dnf print them (`containerd.io`,
 * `libnetfilter_conntrack`, `3:2.229.0-1.el9`).
 */
const PackageWord = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._+~^:-]*$/);

const CarriedPackage = z.strictObject({ name: PackageWord, version: PackageWord });

const Requirement = z.strictObject({
  name: z.string(),
  /**
   * As the package that needs it wrote it: a Debian relation such as `libc6 (>= 2.34)`,
   * or an rpm dependency such as `glibc >= 2.34`, `libc.so.6(GLIBC_2.34)(64bit)`, `/bin/sh`.
   */
  relation: z.string(),
  neededBy: z.string(),
});

// What `hostRequires` relations may say. The host check hands their names to dpkg-query
// or rpm, so only the shapes the builder emits (bundle/deb-closure.ts, rpm-closure.ts)
// pass: no name starts with `-` (an option to those tools) or holds a shell character.
const DEB_ALTERNATIVE =
  String.raw`[a-z0-9][a-z0-9+.-]*(?::[a-z0-9-]+)?` + String.raw`(?: ?\((?:<<|<=|=|>=|>>|<|>) ?[A-Za-z0-9.+~:-]+\))?`;
/** `libc6 (>= 2.34)`, `libseccomp2 (>= 2.5) | libseccomp-static`, `python3:any`. */
export const DEB_RELATION = new RegExp(String.raw`^${DEB_ALTERNATIVE}(?: \| ${DEB_ALTERNATIVE})*$`);
const RPM_NAME = String.raw`[A-Za-z0-9_/][A-Za-z0-9_.+~^:/()@=,-]*`;
const RPM_EVR = String.raw`(?:\d+:)?[A-Za-z0-9._+~^]+(?:-[A-Za-z0-9._+~^]+)?`;
const RPM_SIMPLE = String.raw`${RPM_NAME}(?: (?:=|==|<|<=|>|>=) ${RPM_EVR})?`;
/** `glibc >= 2.34`, `libc.so.6(GLIBC_2.34)(64bit)`, `/bin/sh`, `(iptables-nft or iptables-legacy)`. */
export const RPM_RELATION = new RegExp(String.raw`^(?:${RPM_SIMPLE}|\(${RPM_SIMPLE}(?: or ${RPM_SIMPLE})+\))$`);

function requirementProblem(
  family: 'debian' | 'rhel',
  { name, relation }: { name: string; relation: string },
): { field: 'name' | 'relation'; message: string } | undefined {
  if (!(family === 'debian' ? DEB_RELATION : RPM_RELATION).test(relation))
    return {
      field: 'relation',
      message:
        family === 'debian'
          ? `"${relation}" is not a Debian relation (NAME, NAME (OP VERSION), alternatives joined by " | ")`
          : `"${relation}" is not an rpm dependency (NAME, NAME OP EVR, or (A or B ...))`,
    };
  const names = family === 'debian' ? parseRelations(relation).flat() : parseRpmRelation(relation);
  if (!names.some((a) => a.name === name))
    return { field: 'name', message: `"${name}" is not one of the names in "${relation}"` };
  return undefined;
}

const ManifestFields = z.strictObject({
  format: z.literal(BUNDLE_FORMAT),
  createdBy: z.string(),
  cluster: z.string(),
  /** sha256 of the spec file the bundle was made from. */
  specDigest: Sha256,
  kubernetesVersion: z.string(),
  os: z.strictObject({
    family: z.enum(['debian', 'rhel']),
    architecture: z.enum(Object.keys(MACHINE_NAME) as [keyof typeof MACHINE_NAME]),
  }),
  files: z.array(BundleFile),
  /** Every image the cluster runs: its name on the hosts, its registry digest, its member. */
  images: z.array(
    z.strictObject({ reference: z.string(), digest: z.string().regex(/^sha256:[0-9a-f]{64}$/), path: MemberPath }),
  ),
  /**
   * Every package the bundle carries, by name and version, sorted by name: what `install`
   * checks a spec's needs against (keepalived and haproxy for a managed endpoint).
   * Absent from bundles made before it was recorded, which carried no endpoint packages.
   */
  packages: z.array(CarriedPackage).optional(),
  /**
   * Dependencies the bundle does not carry because every host of the OS has them
   * (Debian: Priority required/important; rpm: comps group core and what it requires)
   * or the repositories did not offer them; `install`
   * checks them on each host before it changes anything.
   */
  hostRequires: z.array(Requirement),
  /** Debian bundles: the repositories the .debs come from, each with its signed InRelease and Packages. */
  aptRepositories: z.array(AptRepository),
  /** RHEL-like bundles: the same for dnf. */
  rpmRepositories: z.array(RpmRepository),
});

export const BundleManifestSchema = ManifestFields.superRefine((manifest, ctx) => {
  manifest.hostRequires.forEach((requirement, i) => {
    const problem = requirementProblem(manifest.os.family, requirement);
    if (problem) ctx.addIssue({ code: 'custom', path: ['hostRequires', i, problem.field], message: problem.message });
  });
  // install imports each image from its member: one not in files would be neither checked nor there.
  const images = new Set(manifest.files.filter((f) => f.kind === 'image').map((f) => f.path));
  manifest.images.forEach((image, i) => {
    if (!images.has(image.path))
      ctx.addIssue({
        code: 'custom',
        path: ['images', i, 'path'],
        message: `${image.path} (the member of ${image.reference}) is not in files as an image`,
      });
  });
});

export type BundleManifest = z.infer<typeof BundleManifestSchema>;
export type BundleFileEntry = z.infer<typeof BundleFile>;
export type HostRequirement = z.infer<typeof Requirement>;
export type CarriedPackageEntry = z.infer<typeof CarriedPackage>;
export type AptRepositoryEntry = z.infer<typeof AptRepository>;
export type RpmRepositoryEntry = z.infer<typeof RpmRepository>;
