// Doctor's Weave Net check, per node: the router's own status page (what `weave status`
// prints, the DaemonSet's readiness probe path), read from the node's loopback through
// the SSH connection, so nothing runs in the weave container. Pure: the operation asks.
import type { ClusterModel, NodeModel } from '../../spec/model.js';
import type { DoctorCheck, DoctorStatus, ServiceAnswer } from './check.js';

export const WEAVE_STATUS_ADDRESS = '127.0.0.1';
export const WEAVE_STATUS_PORT = 6784;
/** The status page is under 1 KiB; a larger answer is not Weave's. */
export const WEAVE_STATUS_MAX_BYTES = 64 * 1024;

/** GET of a status page: /status (what `weave status` prints) or /status/connections. */
export const weaveStatusRequest = (path: '/status' | '/status/connections') =>
  Buffer.from(
    `GET ${path} HTTP/1.1\r\nHost: ${WEAVE_STATUS_ADDRESS}:${WEAVE_STATUS_PORT}\r\nConnection: close\r\n\r\n`,
  );

/** The body of a whole 200 answer, else undefined. */
export function httpBody(answer: Buffer): string | undefined {
  const text = answer.toString('utf8');
  const split = text.indexOf('\r\n\r\n');
  return /^HTTP\/1\.[01] 200 /.test(text) && split >= 0 ? text.slice(split + 4) : undefined;
}

/** Whole once the headers and Content-Length bytes of body are in (else the router's close ends it). */
export function httpAnswerComplete(received: Buffer): boolean {
  const split = received.indexOf('\r\n\r\n');
  if (split < 0) return false;
  const length = /\r\ncontent-length: *(\d+)\r\n/i.exec(received.subarray(0, split + 2).toString('latin1'))?.[1];
  return length !== undefined && received.length - split - 4 >= Number(length);
}

/** "Name: value" lines of the page, first occurrence of each (Status is only in the ipam section). */
function fields(body: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of body.split('\n')) {
    const m = /^\s*([A-Za-z]+): (.*)$/.exec(line);
    if (m && !out.has(m[1]!)) out.set(m[1]!, m[2]!.trim());
  }
  return out;
}

/**
 * Every node a peer, each connection established, IPAM agreed (ready, or idle before
 * this node allocated anything) and over the range the spec gave Weave.
 */
export function weaveCheck(model: ClusterModel, node: NodeModel, outcome: ServiceAnswer): DoctorCheck {
  const check = (status: DoctorStatus, seen: string, fix: string): DoctorCheck => ({
    scope: node.name,
    check: 'weave',
    status,
    seen,
    fix: status === 'ok' ? '' : fix,
  });
  const pod =
    `kubectl -n kube-system logs -l name=weave-net -c weave --tail=50 (the pod on ${node.hostname}); ` +
    `kubectl -n kube-system get pods -l name=weave-net -o wide`;
  if ('error' in outcome)
    return check(
      'fail',
      `the Weave router's status (${WEAVE_STATUS_ADDRESS}:${WEAVE_STATUS_PORT}) does not answer: ${outcome.error}`,
      `the weave container is not running there: ${pod}`,
    );
  const text = outcome.answer.toString('utf8');
  const split = text.indexOf('\r\n\r\n');
  const head = /^HTTP\/1\.[01] (\d{3})/.exec(text);
  if (!head || split < 0 || head[1] !== '200')
    return check(
      'fail',
      `the Weave router's status page answered ${head ? `HTTP ${head[1]}` : 'what is not HTTP'}`,
      `${pod}; another program on port ${WEAVE_STATUS_PORT}? (ss -ltnp there)`,
    );
  const f = fields(text.slice(split + 4));
  const problems: string[] = [];
  const range = f.get('Range') ?? '';
  if (range !== model.weave.ipallocRange)
    problems.push(`IPAM range ${range || 'not shown'}, the spec's ${model.weave.ipallocRange}`);
  const ipam = f.get('Status') ?? '';
  if (!/^(ready|idle)$/.test(ipam)) problems.push(`IPAM ${ipam || 'not shown'}`);
  const peers = Number((f.get('Peers') ?? '').split(' ')[0]);
  if (!(peers >= model.nodes.length)) problems.push(`${f.get('Peers') ?? 'no'} peers of ${model.nodes.length} nodes`);
  const connections = f.get('Connections') ?? '';
  const total = Number(connections.split(' ')[0]);
  const established = Number(/(\d+) established/.exec(connections)?.[1] ?? 0);
  if (!(total >= model.nodes.length - 1) || established < total)
    problems.push(`connections ${connections || 'not shown'}`);
  const summary = `connections ${connections || '0'}, peers ${f.get('Peers') ?? '?'}, IPAM ${ipam || '?'} ${range}`;
  if (!problems.length) return check('ok', summary, '');
  const rangeFix = problems.some((p) => p.startsWith('IPAM range'))
    ? "the weave-net DaemonSet's IPALLOC_RANGE differs from the spec (kubestrap up re-applies it); "
    : '';
  return check(
    'fail',
    problems.join('; '),
    `${rangeFix}TCP 6783 and UDP 6783-6784 open between all nodes; ` +
      `kubectl -n kube-system exec on the weave pod: /home/weave/weave --local status connections; ${pod}`,
  );
}
