// Redaction of text whose secrets kubestrap did not make itself (what a support bundle
// collects from hosts and the cluster): each kind of secret has a named rule, so a test
// can take any one away and see that secret leak. Known values (read from the hosts for
// this purpose and never written) come first; the base64 rule decodes every long base64
// run and drops it whole when any other rule finds a secret inside.
import { REDACTED, Redactor } from './redact.js';

export interface RedactionRule {
  readonly name: string;
  readonly apply: (text: string) => string;
}

/** The raw-text rules, in order; `known` are secret values read for the purpose (VRRP, Weave passwords). */
export function textRules(known: readonly string[]): RedactionRule[] {
  // The values, as everything kubestrap prints is redacted of the secrets it made.
  const values = new Redactor();
  values.add(...known);
  return [
    { name: 'known-values', apply: (t) => values.apply(t) },
    {
      // PEM private keys of every kind (RSA, EC, PKCS#8, OpenSSH), also cut short by a cap.
      name: 'private-key',
      apply: (t) =>
        t.replace(/-----BEGIN ([A-Z0-9 ]*)PRIVATE KEY-----[\s\S]*?(?:-----END \1PRIVATE KEY-----|$)/g, REDACTED),
    },
    {
      // kubeconfig users: client-key-data, token, password, auth-provider tokens; also
      // inside comments and log lines, so not anchored to a line's start.
      name: 'kubeconfig-credentials',
      apply: (t) =>
        t.replace(/(\b(?:client-key-data|token|password|id-token|refresh-token)["']?\s*:\s*)\S+/g, `$1${REDACTED}`),
    },
    {
      // Bootstrap tokens ([a-z0-9]{6}.[a-z0-9]{16}, kubeadm's token format), anywhere.
      name: 'bootstrap-token',
      apply: (t) => t.replace(/\b[a-z0-9]{6}\.[a-z0-9]{16}\b/g, REDACTED),
    },
    {
      // kubeadm's certificate key: 64 hex digits after the flag or the field (a bare
      // sha256 digest elsewhere is not a secret and stays).
      name: 'certificate-key',
      apply: (t) =>
        t.replace(
          /((?:--certificate-key[= ]|certificate-?[kK]ey["']?\s*[:=]\s*)["']?)[0-9a-fA-F]{64}/g,
          `$1${REDACTED}`,
        ),
    },
    {
      name: 'vrrp-secret',
      apply: (t) => t.replace(/(\bauth_pass\s+)\S+/g, `$1${REDACTED}`),
    },
    {
      // The Weave password: the env var weave reads, the Secret's key, the CLI flag.
      name: 'weave-password',
      apply: (t) =>
        t.replace(/((?:WEAVE_PASSWORD|weave-passwd|--password)["']?\s*[=: ]\s*["']?)[^\s"']+/g, `$1${REDACTED}`),
    },
  ];
}

/** A run long enough to hide a secret: 8 base64 characters are 6 bytes, the shortest secret redacted (VRRP's 8). */
const BASE64_RUN = /[A-Za-z0-9+/_-]{8,}={0,2}/g;

/** Base64 (standard or URL-safe) runs holding anything the text rules would redact, dropped whole. */
export function base64Rule(inner: readonly RedactionRule[]): RedactionRule {
  return {
    name: 'base64',
    apply: (t) =>
      t.replace(BASE64_RUN, (run) => {
        const decoded = Buffer.from(run.replace(/-/g, '+').replace(/_/g, '/'), 'base64').toString('latin1');
        return inner.some((rule) => rule.apply(decoded) !== decoded) ? REDACTED : run;
      }),
  };
}

/** Every rule, the base64 one last; `keep` leaves rules out (the tests take each away in turn). */
export function redactionRules(
  known: readonly string[],
  keep: (rule: RedactionRule) => boolean = () => true,
): RedactionRule[] {
  const text = textRules(known).filter(keep);
  return [...text, base64Rule(text)].filter(keep);
}

export function redactWith(rules: readonly RedactionRule[], text: string): string {
  return rules.reduce((acc, rule) => rule.apply(acc), text);
}
