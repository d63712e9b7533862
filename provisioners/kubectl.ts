// How phases reach the API: kubectl on the first control-plane node, as its admin.
import { ADMIN_CONF } from '../templates/node-paths.js';

export const KUBECTL = `kubectl --kubeconfig ${ADMIN_CONF}`;
