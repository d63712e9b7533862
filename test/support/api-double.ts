// The API server double's systemd unit, shared by the deb (test/harness/apt-mirror.ts)
// and rpm (test/support/rpm-repos.ts) kubeadm packages. socat terminates TLS with the
// serving certificate `kubeadm init` issued and runs the line protocol of
// test/doubles/apiserver-double per connection; clients verify it with test/doubles/api-call.
export const APISERVER_DOUBLE_UNIT =
  '[Unit]\nDescription=TEST DOUBLE of the Kubernetes API server (TLS, line protocol)\n\n[Service]\n' +
  'ExecStart=/usr/bin/socat OPENSSL-LISTEN:6443,cert=/etc/kubernetes/pki/apiserver.crt,' +
  'key=/etc/kubernetes/pki/apiserver.key,verify=0,fork,reuseaddr EXEC:/usr/lib/kubestrap-doubles/apiserver\n';
