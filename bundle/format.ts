// The bundle's format: one uncompressed tar (its payload — .debs, image archives — is
// compressed already, and a plain tar streams through verification and upload in one
// pass). The first member is bundle.json, listing every other member with its size and
// sha256; the last member, bundle.json.sha256, seals bundle.json itself and marks the
// end, so a truncated archive cannot pass for a whole one.
import { z } from 'zod';
import { parseRelations } from './debian-version.js';
import { parseRpmRelation } from './rpm-relation.js';

export const BUNDLE_FORMAT = 1;

/** A bundle's architecture (Debian's names, as the spec has them) → what `uname -m` and rpm call it. */
export const MACHINE_NAME = { amd64: 'x86_64', arm64: 'aarch64' } as const;
export const MANIFEST_NAME = 'bundle.json';
export const SEAL_NAME = 'bundle.json.sha256';

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

const BundleFile = z.strictObject({
  path: MemberPath,
  size: z.int().nonnegative(),
  sha256: Sha256,
  kind: z.enum(['deb', 'deb-index', 'rpm', 'rpm-metadata', 'binary', 'image', 'manifest']),
  /** Where it was fetched from, for the record. */
  source: z.string().optional(),
});

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
   * Dependencies the bundle does not carry because every host of the OS has them
   * (Debian: Priority required/important; rpm: comps group core and what it requires)
   * or the repositories did not offer them; `install`
   * checks them on each host before it changes anything.
   */
  hostRequires: z.array(Requirement),
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
