// `kubeadm config validate`: the strict reading of a kubeadm config (unknown or
// duplicate fields are errors, as are unknown API versions and invalid values), run on
// the node with the node's own kubeadm before init and join use the file. init and
// join decode leniently (util/config: strict errors become klog warnings), so without
// this a misspelt field would be dropped without a word.
import { shellQuote } from '../base/quote.js';

export function validateConfig(path: string): string {
  return `kubeadm config validate --config ${shellQuote(path)}`;
}
