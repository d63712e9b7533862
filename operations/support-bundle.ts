// `support-bundle`: one archive of everything that shows what is wrong, made even when
// the API server or some hosts are down (the archive's summary says which). Collection
// only reads; every collector has a size cap (on the host) and a time limit, and each
// host has a deadline, so a slow host holds up nobody. Everything is redacted before it
// is written (ssh/redact-rules.ts); the archive is 0600 and written atomically.
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { shellQuote } from '../base/quote.js';
import { writeTarFile } from '../base/tar-file.js';
import { join } from 'node:path';
import { createTwoFilesPatch } from 'diff';
import { toYaml } from '../templates/yaml.js';
import {
  API_PROBE,
  clusterCollectors,
  hostCollectors,
  podLogCollector,
  SECRET_SOURCES,
  type Collector,
} from '../provisioners/support/collectors.js';
import type { SshNodeHost } from '../provisioners/cluster-host.js';
import { renderCluster } from '../templates/render.js';
import { managedEndpoint } from '../templates/endpoint.js';
import { isInitNode } from '../templates/kubeadm/index.js';
import { VRRP_PASSWORD_FILE } from '../templates/node-paths.js';
import { redactionRules, redactWith, type RedactionRule } from '../ssh/redact-rules.js';
import { loadClusterSpec } from './cluster-spec.js';
import type { ClusterOptions, OperationContext } from './context.js';
import { doctor, weaveStatus, type DoctorResult } from './doctor.js';
import { httpBody } from '../provisioners/doctor/weave-status.js';
import { clusterHosts, clusterPool } from './hosts.js';
import { logDir } from './workdir.js';

/** A host's whole collection stops here; what it gave so far is kept. */
export const HOST_DEADLINE_MS = 120_000;
const HEADER = { mode: 0o600, uid: 0, gid: 0, uname: 'root', gname: 'root' } as const;

export interface SupportBundleOptions extends ClusterOptions {
  readonly output: string;
  /** For tests of the redaction: the rules to apply (default: all). */
  readonly rules?: (known: readonly string[]) => readonly RedactionRule[];
}

export interface HostCollection {
  readonly node: string;
  /** collected, partial (some collectors failed or the deadline passed), unreachable, not running. */
  readonly status: 'collected' | 'partial' | 'unreachable' | 'not running';
  readonly detail: string;
}

export interface SupportBundleResult {
  readonly path: string;
  readonly sizeBytes: number;
  readonly hosts: readonly HostCollection[];
  /** "collected through NODE", or why the cluster's part is missing. */
  readonly cluster: string;
  readonly doctor: DoctorResult['status'];
}

interface Entry {
  readonly name: string;
  readonly content: string;
}

/**
 * A collector's output (its stderr too). `ok` unless it said nothing and failed: many
 * collectors name components a host may not have (keepalived, nft), and their error is
 * what the reader needs to see.
 */
async function collect(host: SshNodeHost, c: Collector): Promise<{ text: string; ok: boolean; code: number }> {
  const result = await host.ssh.exec(c.command, {
    label: `collect ${c.name}`,
    timeoutMs: c.timeoutMs,
    check: false,
    hideOutput: true,
  });
  const code = result.code ?? -1;
  return { text: result.stdout, ok: code === 0 || result.stdout.trim() !== '', code };
}

/** Rejects after `ms`, so Promise.race leaves a slow host behind. */
const deadline = (ms: number) =>
  new Promise<never>((_, reject) =>
    setTimeout(() => reject(new Error(`deadline of ${ms / 1000} s passed`)), ms).unref(),
  );

export async function supportBundle(
  options: SupportBundleOptions,
  context: OperationContext,
): Promise<SupportBundleResult> {
  const { model, warnings } = await loadClusterSpec(options.file);
  context.warn(warnings);
  const progress = (step: string) => context.sink.progress?.({ step });
  const entries: Entry[] = [];
  const hosts: HostCollection[] = [];
  const known: string[] = [];
  let cluster = 'not collected: no control plane answered over SSH';

  progress('doctor');
  const report = await doctor(options, { ...context, warn: () => undefined });
  entries.push({ name: 'kubestrap/doctor.json', content: `${JSON.stringify(report, null, 2)}\n` });

  const pool = clusterPool(model, options.file, { connectAttempts: 1, readyTimeoutMs: 10_000, signal: context.signal });
  try {
    const stopped = report.checks
      .filter((c) => c.check === 'ssh' && c.seen.startsWith('not checked'))
      .map((c) => c.scope);
    const nodeHosts = await clusterHosts(
      model,
      pool,
      options.verbose ?? false,
      model.nodes.filter((n) => !stopped.includes(n.name)).map((n) => n.name),
    );
    for (const name of stopped) hosts.push({ node: name, status: 'not running', detail: 'the machine is not running' });
    const files = renderCluster(model);
    const reachable: SshNodeHost[] = [];
    await Promise.all(
      nodeHosts.map(async (host) => {
        const base = `host-collectors/${host.name}`;
        const failed: string[] = [];
        let done = 0;
        const work = (async () => {
          await host.ssh.exec('true', { sudo: false, timeoutMs: 15_000 });
          reachable.push(host);
          if (managedEndpoint(model) && isInitNode(model, host.node)) {
            const vrrp = await host.ssh.exec(`cat ${VRRP_PASSWORD_FILE}`, {
              check: false,
              hideOutput: true,
              timeoutMs: 15_000,
            });
            if (vrrp.code === 0 && vrrp.stdout.trim()) known.push(vrrp.stdout.trim());
          }
          for (const c of hostCollectors(model)) {
            progress(`${host.name}: ${c.name}`);
            const { text, ok } = await collect(host, c).catch((error: Error) => ({
              text: error.message,
              ok: false,
            }));
            if (!ok) failed.push(c.name);
            entries.push({ name: `${base}/${c.name}`, content: text });
            done++;
          }
          // Weave's router as `weave status` and `weave status connections` show it.
          progress(`${host.name}: weave-status.txt`);
          const pages: string[] = [];
          for (const path of ['/status', '/status/connections'] as const) {
            const page = await weaveStatus(host, path);
            pages.push(
              `### GET ${path}\n` +
                ('error' in page
                  ? `no answer: ${page.error}\n`
                  : (httpBody(page.answer) ?? page.answer.toString('utf8'))),
            );
          }
          entries.push({ name: `${base}/weave-status.txt`, content: pages.join('\n') });
          // The files kubestrap placed, against what the host has now.
          const mine = files.filter((f) => f.node === host.name && f.target);
          const diffs: string[] = [];
          for (const f of mine) {
            const now = await host.ssh.exec(`cat ${shellQuote(f.target!)}`, {
              check: false,
              hideOutput: true,
              timeoutMs: 15_000,
            });
            const have = now.code === 0 ? now.stdout : '';
            if (have !== f.content)
              diffs.push(
                now.code === 0
                  ? createTwoFilesPatch(
                      `rendered${f.target}`,
                      `host${f.target}`,
                      f.content,
                      have,
                      undefined,
                      undefined,
                      {
                        context: 2,
                      },
                    )
                  : `${f.target}: missing on the host\n`,
              );
          }
          entries.push({
            name: `${base}/rendered-diff.txt`,
            content: diffs.length ? diffs.join('\n') : `all ${mine.length} rendered files match\n`,
          });
        })();
        try {
          await Promise.race([work, deadline(HOST_DEADLINE_MS)]);
          hosts.push({
            node: host.name,
            status: failed.length ? 'partial' : 'collected',
            detail: failed.length ? `failed or empty: ${failed.join(', ')}` : `${done} collectors`,
          });
        } catch (error) {
          work.catch(() => undefined);
          const message = (error as Error).message.split('\n')[0]!;
          hosts.push(
            reachable.includes(host)
              ? { node: host.name, status: 'partial', detail: `${message} after ${done} collectors` }
              : { node: host.name, status: 'unreachable', detail: message },
          );
        }
      }),
    );

    // The cluster, through the first control plane whose API answers (the init node first).
    const planes = reachable
      .filter((h) => h.node.role === 'control-plane')
      .sort((a, b) => Number(isInitNode(model, b.node)) - Number(isInitNode(model, a.node)));
    const tried: string[] = [];
    for (const plane of planes) {
      const probe = await plane.ssh.exec(API_PROBE.command, { check: false, timeoutMs: 30_000 });
      if (probe.code !== 0) {
        tried.push(`${plane.name}: ${probe.stderr.trim().split('\n').at(-1) ?? ''}`);
        continue;
      }
      progress(`cluster through ${plane.name}`);
      entries.push({ name: `cluster-resources/${API_PROBE.name}`, content: probe.stdout });
      for (const c of clusterCollectors())
        entries.push({ name: `cluster-resources/${c.name}`, content: (await collect(plane, c)).text });
      const pods = entries.find((e) => e.name === 'cluster-resources/pods.txt')?.content ?? '';
      for (const [namespace, pod] of failingPods(pods).slice(0, 20)) {
        const c = podLogCollector(namespace, pod);
        entries.push({ name: `cluster-resources/${c.name}`, content: (await collect(plane, c)).text });
      }
      const weave = await plane.ssh.exec(SECRET_SOURCES.weave, { check: false, hideOutput: true, timeoutMs: 30_000 });
      if (weave.code === 0 && weave.stdout.trim())
        known.push(Buffer.from(weave.stdout.trim(), 'base64').toString('utf8'));
      cluster = `collected through ${plane.name}`;
      break;
    }
    if (planes.length && cluster.startsWith('not collected'))
      cluster = `not collected: the API server does not answer (${tried.join('; ')})`;
  } finally {
    await pool.close();
  }

  // kubestrap's own: the spec, the render manifest, the last runs' logs.
  if (options.file && existsSync(options.file))
    entries.push({ name: 'kubestrap/spec.yaml', content: readFileSync(options.file, 'utf8') });
  entries.push({
    name: 'kubestrap/render-manifest.txt',
    content: renderCluster(model)
      .map((f) => `${f.mode.toString(8).padStart(4, '0')} ${f.path}${f.target ? ` -> ${f.node}:${f.target}` : ''}`)
      .join('\n'),
  });
  const logs = logDir(model.name);
  if (existsSync(logs))
    for (const name of readdirSync(logs).filter((n) => n.endsWith('.log')))
      entries.push({
        name: `kubestrap/logs/${name}`,
        content: tail(readFileSync(join(logs, name), 'utf8'), 4 * 1024 * 1024),
      });
  hosts.sort((a, b) => a.node.localeCompare(b.node, 'en', { numeric: true }));
  entries.push({
    name: 'version.yaml',
    content: toYaml({
      apiVersion: 'troubleshoot.sh/v1beta2',
      kind: 'SupportBundle',
      metadata: { name: model.name },
      spec: { collectedBy: 'kubestrap support-bundle', hosts, cluster, doctor: report.status },
    }),
  });

  const rules = (options.rules ?? redactionRules)(known);
  progress('writing the archive');
  context.sink.progress?.({ done: true });
  const sizeBytes = await writeArchive(
    options.output,
    entries.map((e) => ({ name: e.name, content: redactWith(rules, e.content) })),
  );
  return { path: options.output, sizeBytes, hosts, cluster, doctor: report.status };
}

/** The last `max` bytes of a text, at a line start. */
function tail(text: string, max: number): string {
  if (text.length <= max) return text;
  const cut = text.slice(-max);
  return `[earlier lines left out]\n${cut.slice(cut.indexOf('\n') + 1)}`;
}

/** Pods in `kubectl get pods -A -o wide` output that are neither Running nor Completed. */
export function failingPods(table: string): [string, string][] {
  const lines = table.split('\n');
  // Anything but kubectl's table (its error, a double's refusal) names no pods.
  if (!/^NAMESPACE\s+NAME\s+READY\s+STATUS\b/.test(lines[0] ?? '')) return [];
  return lines
    .slice(1)
    .map((line) => line.trim().split(/\s+/))
    .filter((f) => f.length >= 4 && !['Running', 'Completed', 'Succeeded'].includes(f[3]!))
    .map((f) => [f[0]!, f[1]!]);
}

async function writeArchive(out: string, entries: readonly Entry[]): Promise<number> {
  // 0600: the archive holds a cluster's configuration, even redacted.
  await writeTarFile(out, { mode: 0o600, gzip: true }, (pack) => {
    const mtime = new Date();
    const root = `support-bundle-${mtime.toISOString().replace(/[:.]/g, '-')}`;
    for (const e of entries) pack.entry({ ...HEADER, mtime, name: `${root}/${e.name}` }, e.content);
  });
  return statSync(out).size;
}
