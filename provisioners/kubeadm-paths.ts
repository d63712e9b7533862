// Where kubeadm's files live on a node, and how phases reach the API from the first
// control-plane node.
export const KUBEADM_CONF = '/etc/kubernetes/kubeadm.conf';
export const ADMIN_CONF = '/etc/kubernetes/admin.conf';
export const KUBELET_CONF = '/etc/kubernetes/kubelet.conf';
export const KUBECTL = `kubectl --kubeconfig ${ADMIN_CONF}`;
