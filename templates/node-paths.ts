// Where files live on a node, each path defined once: the render places its files at
// these paths, and the phases put them there, look for them and remove them. Kept with
// the templates because the render is what decides where a file goes; the phases sit
// above templates/ and read the same constants.

/** kubeadm's directory: its configs, kubeconfigs, static-pod manifests and PKI. */
export const KUBERNETES_DIR = '/etc/kubernetes';
export const KUBEADM_CONF = `${KUBERNETES_DIR}/kubeadm.conf`;
export const ADMIN_CONF = `${KUBERNETES_DIR}/admin.conf`;
export const KUBELET_CONF = `${KUBERNETES_DIR}/kubelet.conf`;
export const BOOTSTRAP_KUBELET_CONF = `${KUBERNETES_DIR}/bootstrap-kubelet.conf`;
export const STATIC_POD_DIR = `${KUBERNETES_DIR}/manifests`;
export const KUBE_APISERVER_MANIFEST = `${STATIC_POD_DIR}/kube-apiserver.yaml`;
export const PKI_DIR = `${KUBERNETES_DIR}/pki`;
export const CLUSTER_CA = `${PKI_DIR}/ca.crt`;
/** Written by the join phase (0600, removed after join); holds the bootstrap token. */
export const DISCOVERY_KUBECONFIG = `${KUBERNETES_DIR}/kubestrap-discovery.conf`;
/**
 * The certificate key that encrypts the control-plane certificates in the kubeadm-certs
 * Secret is a secret, so it never goes into the rendered kubeadm.conf: these two files
 * carry it, each written 0600 for one command and removed after.
 */
export const UPLOAD_CERTS_CONFIG = `${KUBERNETES_DIR}/kubestrap-upload-certs.conf`;
export const CONTROL_PLANE_JOIN_CONFIG = `${KUBERNETES_DIR}/kubestrap-join.conf`;
/** Cluster manifests kubestrap applies from the first control-plane node (Weave, Rook). */
export const CLUSTER_MANIFESTS = `${KUBERNETES_DIR}/kubestrap`;

export const KUBELET_UNIT = '/etc/systemd/system/kubelet.service';
export const KUBELET_DROP_IN = '/etc/systemd/system/kubelet.service.d/10-kubeadm.conf';
/** The administrator's kubelet flags (KUBELET_EXTRA_ARGS) file, where each family keeps it. */
export const KUBELET_DEFAULTS = { debian: '/etc/default/kubelet', rhel: '/etc/sysconfig/kubelet' } as const;

export const CONTAINERD_CONFIG = '/etc/containerd/config.toml';
export const CONTAINERD_SOCKET = '/run/containerd/containerd.sock';
export const CNI_CONF_DIR = '/etc/cni/net.d';

export const MODULES_LOAD_CONF = '/etc/modules-load.d/kubestrap.conf';
export const SYSCTL_CONF = '/etc/sysctl.d/99-kubestrap.conf';
/** Our block of /etc/hosts, kept whole so host prep can merge it into the host's own. */
export const HOSTS_BLOCK = '/etc/kubestrap/hosts';

/**
 * The managed control-plane endpoint (keepalived + haproxy) on control-plane nodes.
 * keepalived.conf holds the VRRP password: written 0600 at run time, never rendered.
 */
export const KEEPALIVED_CONF = '/etc/keepalived/keepalived.conf';
/** Root-owned and not writable by others, or keepalived's enable_script_security refuses to run it. */
export const KEEPALIVED_CHECK_SCRIPT = '/etc/keepalived/kubestrap-check-apiserver.sh';
export const KEEPALIVED_DROP_IN = '/etc/systemd/system/keepalived.service.d/10-kubestrap.conf';
/** Beside the package's haproxy.cfg, which stays untouched; the drop-in points the unit here. */
export const HAPROXY_CONFIG = '/etc/haproxy/kubestrap.cfg';
export const HAPROXY_DROP_IN = '/etc/systemd/system/haproxy.service.d/10-kubestrap.conf';
/** haproxy's stats page, for `status`: in haproxy's chroot directory, which exists on Debian and EL alike. */
export const HAPROXY_STATS_SOCKET = '/var/lib/haproxy/kubestrap-stats.sock';
export const ENDPOINT_SYSCTL_CONF = '/etc/sysctl.d/99-kubestrap-endpoint.conf';
/** The cluster's VRRP password, on the init node only, 0600: made there before any API could keep it. */
export const VRRP_PASSWORD_FILE = '/etc/kubestrap/vrrp-password';
