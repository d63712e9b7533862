// The support bundle's redaction: every kind of secret, planted raw and base64-encoded in
// text of each shape the collectors gather (journal lines, kubeconfigs, configs, diffs),
// is gone after redaction; and taking away any single rule lets something through.
import { describe, expect, it } from 'vitest';
import { redactionRules, redactWith } from '../ssh/redact-rules.js';
import { b64, leaks, plantedSecrets } from './support/planted-secrets.js';

describe('support bundle redaction', () => {
  const { plants, secrets, known } = plantedSecrets();
  const text = plants.join('\n') + '\n';

  it('leaves no secret of any kind, raw or base64', () => {
    expect(leaks(text, secrets).length).toBeGreaterThan(10);
    const redacted = redactWith(redactionRules(known), text);
    expect(leaks(redacted, secrets)).toEqual([]);
  });

  it('keeps what is not a secret: certificates, digests, ordinary words and base64 of them', () => {
    const certLine = '    client-certificate-data: LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0tCk1JSUI=';
    const ordinary = [
      'kube-controller-manager-h1 Running',
      `sha256:${'a'.repeat(64)}`,
      certLine,
      'Dec 05 kubelet[1]: Started kubelet.',
      b64('just an ordinary sentence'),
    ].join('\n');
    expect(redactWith(redactionRules(known), ordinary)).toBe(ordinary);
  });

  it('fails when any single rule is taken away', () => {
    const names = redactionRules(known).map((r) => r.name);
    expect(names).toHaveLength(8);
    for (const name of names) {
      // The base64 rule is rebuilt without the removed rule as well, as the operation would be.
      const without = redactionRules(known, (r) => r.name !== name);
      expect(leaks(redactWith(without, text), secrets), name).not.toEqual([]);
    }
  });
});
