// One of each secret kind a support bundle must not carry, in the shapes it takes on
// hosts (PEM files, kubeconfigs, journal lines, configs), raw and base64-encoded.
import { generateKeyPairSync, randomBytes } from 'node:crypto';

export const b64 = (s: string) => Buffer.from(s, 'utf8').toString('base64');

/** One of each secret kind, with the text it hides in and the strings that must not survive. */
export function plantedSecrets(options: { readonly knownReadable?: boolean } = {}) {
  const readable = options.knownReadable ?? true;
  const rsa = generateKeyPairSync('rsa', { modulusLength: 1024 }).privateKey.export({ type: 'pkcs1', format: 'pem' });
  const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ type: 'pkcs8', format: 'pem' });
  const token = `${randomBytes(3).toString('hex')}.${randomBytes(8).toString('hex')}`;
  const certKey = randomBytes(32).toString('hex');
  const vrrp = randomBytes(6).toString('base64url').slice(0, 8);
  const weave = randomBytes(24).toString('base64url');
  const opaque = `sa-${randomBytes(20).toString('hex')}`;
  // Passwords kubestrap could not read (the init node down): only their context gives them away.
  const unreadVrrp = randomBytes(6).toString('base64url').slice(0, 8);
  const unreadWeave = randomBytes(24).toString('base64url');
  const plants = [
    // raw forms, in the shapes they take on hosts
    `${rsa}`,
    `    client-key-data: ${b64(ec as string)}`,
    `    token: ${opaque}`,
    `Dec 05 08:00:01 h1 kubelet[1]: kubeadm join 10.0.0.1:6443 --token ${token} --discovery-token-unsafe-skip`,
    `kubeadm init phase upload-certs --certificate-key ${certKey}`,
    `certificateKey: "${certKey}"`,
    `    auth_pass ${unreadVrrp}`,
    `WEAVE_PASSWORD=${unreadWeave}`,
    // the passwords kubestrap reads to redact (VRRP from the init node, Weave's Secret),
    // bare: only when they could be read
    ...(readable ? [`weave password ${weave} seen in a log line`, `VRRP ${vrrp} in a diff line`] : []),
    // base64 forms
    b64(rsa as string),
    b64(token),
    b64(`certificateKey: ${certKey}`),
    ...(readable ? [b64(vrrp), b64(weave)] : []),
    b64(`token: ${opaque}`),
  ];
  const secrets = [
    ...(rsa as string).split('\n').slice(1, -2),
    ...(ec as string).split('\n').slice(1, -2),
    b64(ec as string),
    token,
    certKey,
    ...(readable ? [vrrp, weave] : []),
    opaque,
    unreadVrrp,
    unreadWeave,
    b64(rsa as string),
    b64(token),
    ...(readable ? [b64(vrrp), b64(weave)] : []),
  ];
  return { plants, secrets, known: [vrrp, weave] };
}

/** The secrets found in `text`. */
export function leaks(text: string, secrets: readonly string[]): string[] {
  return secrets.filter((s) => s.length >= 6 && text.includes(s));
}
