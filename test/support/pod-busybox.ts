// The kubelet double's pod image: the runner's static busybox (Debian's busybox-static,
// installed by scripts/install-test-deps.sh), shipped in the test kubelet packages (deb
// and rpm) as /usr/libexec/kubelet-double/busybox. Static, so it runs in a pod's chroot
// with nothing else; its wget segfaults resolving a host name (static glibc NSS), so the
// pods use IP addresses for HTTP and busybox nslookup (its own DNS client) for names.
export const POD_BUSYBOX = '/bin/busybox';
