// Secrets (join tokens, certificate keys, passwords) are registered once and replaced
// in everything kubestrap prints or logs.

export const REDACTED = '[redacted]';

export class Redactor {
  private readonly secrets = new Set<string>();

  add(...secrets: readonly string[]): void {
    // Very short strings would blank out ordinary words; secrets here are long.
    for (const secret of secrets) if (secret.length >= 6) this.secrets.add(secret);
  }

  apply(text: string): string {
    let out = text;
    for (const secret of this.secrets) out = out.replaceAll(secret, REDACTED);
    return out;
  }
}
