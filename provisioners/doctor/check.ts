// One doctor finding: where (a node, "cluster" or "local"), which check, the verdict,
// what was seen and what to do. The README's troubleshooting table maps each check name.
export type DoctorStatus = 'ok' | 'warn' | 'fail';

export interface DoctorCheck {
  /** A node's name, "cluster" for what the API reports, "local" for this machine (Vagrant). */
  readonly scope: string;
  readonly check: string;
  readonly status: DoctorStatus;
  readonly seen: string;
  /** What to do; empty when the check is ok. */
  readonly fix: string;
}

/** What a service only a node reaches answered (SshHost.exchange), or why it did not. */
export type ServiceAnswer = { readonly answer: Buffer } | { readonly error: string };

export const STATUS_ORDER: Record<DoctorStatus, number> = { ok: 0, warn: 1, fail: 2 };

export function worst(statuses: readonly DoctorStatus[]): DoctorStatus {
  return statuses.reduce<DoctorStatus>((a, b) => (STATUS_ORDER[b] > STATUS_ORDER[a] ? b : a), 'ok');
}
