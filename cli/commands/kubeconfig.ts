// `kubestrap kubeconfig`: the admin kubeconfig, or with --path where it is.
import { kubeconfig } from '../../operations/kubeconfig.js';
import { EXIT } from '../exit-codes.js';

export async function kubeconfigCommand(flags: { file?: string; path?: boolean }): Promise<number> {
  const { path, content } = await kubeconfig(flags);
  process.stdout.write(flags.path ? `${path}\n` : content);
  return EXIT.ok;
}
