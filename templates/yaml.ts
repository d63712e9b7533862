// Kubernetes objects to YAML, deterministically: objects are built with a fixed key
// order, undefined fields are dropped, lines are never folded.
//
// Every file written here is read by a YAML 1.1 reader: vagrant_config.yml by Ruby's
// Psych, kubeadm configs, kubeconfigs and manifests by kubeadm, kubectl and the kubelet
// through sigs.k8s.io/yaml, whose YAML-to-JSON step is a fork of go-yaml v2. In 1.1 a
// plain on, off, yes, no, 2024-01-01, 0755 or 1:20 is a boolean, timestamp or number,
// so a node called `on` broke the Vagrantfile. Writing as YAML 1.1 quotes every string
// that 1.1 would read as something else; no `%YAML` directive is written.
import { stringify } from 'yaml';

const OPTIONS = {
  lineWidth: 0,
  minContentWidth: 0,
  indentSeq: true,
  aliasDuplicateObjects: false,
  version: '1.1',
} as const;

export function toYaml(value: unknown): string {
  return stringify(value, OPTIONS);
}

export function toYamlDocuments(values: readonly unknown[]): string {
  return values.map((value) => toYaml(value)).join('---\n');
}
