// Core Kubernetes types kubernetes-models does not export under a name of its own:
// object metadata and a v1 List. Type-only, so kubernetes-models stays a devDependency.
import type { IConfigMap } from 'kubernetes-models/v1/ConfigMap';

export type ObjectMeta = NonNullable<IConfigMap['metadata']>;

/** A `kind: List` of objects, as `kubectl apply -f` reads it. */
export interface KubernetesList<Item> {
  apiVersion: 'v1';
  kind: 'List';
  items: Item[];
}
