// Bounds on what a spec may be, so that a hostile or broken file is refused in
// milliseconds and a few megabytes instead of exhausting the machine. Each bound sits
// far above anything a real cluster spec needs.

/**
 * Bytes read from a spec file. The specs shipped and tested are under 1 KiB; 500 existing
 * hosts listed one by one, each with its address, disk, two labels and its own SSH user
 * and key, make 155 KB. Parsing costs a few µs of CPU per byte, so this bound also bounds
 * the time any file can take (bench/hostile-spec.ts, README "Performance").
 */
export const MAX_SPEC_BYTES = 256 * 1024;

/** Characters in one scalar: the longest real values (URLs, key paths) are a few hundred. */
export const MAX_SCALAR_CHARS = 4096;

/** Nesting of mappings and lists; the schema is 7 levels deep. */
export const MAX_DEPTH = 32;

/** Alias nodes (`*name`) in one spec: enough to share an SSH block between many nodes. */
export const MAX_ALIASES = 100;

/**
 * YAML nodes after every alias is expanded: what the document becomes in memory. A
 * 1 MiB file of plain content stays far below (a node takes at least 2 bytes); only
 * aliases multiply it (billion laughs).
 */
export const MAX_EXPANDED_NODES = 200_000;

/**
 * Cluster nodes after groups (`count`) are expanded. The rendered output grows with the
 * square of this number (every node's /etc/hosts and join list names every node): 500
 * nodes render 4,005 files, 7.8 MB, in 0.3 s; 10,000 would need about 2 GB. 500 is also
 * one group's largest count, and far beyond what one machine runs as Vagrant VMs.
 */
export const MAX_CLUSTER_NODES = 500;

/** Characters of a user's value echoed back in an error message. */
export const MAX_ECHO_CHARS = 80;
