// On a terminal: listr2's live tree, one row per stage and under it one per host or
// machine, drawn from the engine's events. The engine does not know listr2: each row is
// a task that waits for the events that settle it.
import { Listr, PRESET_TIMESTAMP, type DefaultRenderer, type ListrTaskWrapper, type SimpleRenderer } from 'listr2';
import type { EventSink, RunEvent } from '../../engine/events.js';
import { progressPrinter } from './progress.js';
import { oneLine, visible } from '../../base/terminal-text.js';

interface Waiter<T> {
  readonly promise: Promise<T>;
  settle(value: T): void;
}

function waiter<T>(): Waiter<T> {
  let settle!: (value: T) => void;
  const promise = new Promise<T>((resolve) => (settle = resolve));
  return { promise, settle };
}

type Final =
  { status: 'changed' | 'unchanged' | 'failed' | 'skipped'; title?: string; detail?: string } | { status: 'not run' };

interface Row {
  readonly final: Waiter<Final>;
  show?: (line: string) => void;
}

interface StageRow {
  readonly started: Waiter<readonly string[] | undefined>;
  readonly failed: Waiter<string | undefined>;
  readonly rows: Map<string, Row>;
}

type Task = ListrTaskWrapper<unknown, typeof DefaultRenderer, typeof SimpleRenderer>;

export function treeView(): EventSink {
  const stages = new Map<string, StageRow>();
  let running: Promise<unknown> = Promise.resolve();

  const row = (stage: StageRow, item: string): Row => {
    let found = stage.rows.get(item);
    if (!found) stage.rows.set(item, (found = { final: waiter<Final>() }));
    return found;
  };

  const itemTask = (stage: StageRow, item: string) => async (_ctx: unknown, task: Task) => {
    const r = row(stage, item);
    r.show = (line) => (task.output = visible(line));
    const final = await r.final.promise;
    if (final.status === 'not run') return task.skip(`${item}: not run`);
    if (final.status === 'skipped') return task.skip(oneLine(`${item}: not started (${final.detail ?? 'skipped'})`));
    if (final.status === 'failed') {
      task.title = oneLine(`${item}: failed`);
      throw new Error(oneLine(`${item}: ${(final.detail ?? 'failed').split('\n')[0]}`));
    }
    task.title = oneLine(final.title ?? `${item}: ${final.status}`);
  };

  const stageTask = (title: string, stage: StageRow) => async (_ctx: unknown, task: Task) => {
    const items = await stage.started.promise;
    if (!items) return task.skip(`${title}: not run`);
    return task.newListr(
      [
        {
          task: (_c: unknown, inner: Task) =>
            inner.newListr(
              items.map((item) => ({
                title: item,
                task: itemTask(stage, item),
                rendererOptions: { persistentOutput: false },
              })),
              { concurrent: true, exitOnError: false, rendererOptions: { collapseSubtasks: false } },
            ),
        },
        {
          task: async () => {
            const failure = await stage.failed.promise;
            const finals = await Promise.all(items.map((item) => row(stage, item).final.promise));
            const failed = items.filter((_, i) => finals[i]!.status === 'failed');
            if (failed.length) throw new Error(`failed on ${failed.join(', ')}`);
            if (failure !== undefined) throw new Error('see the summary below');
          },
        },
      ],
      { concurrent: false, exitOnError: true, rendererOptions: { collapseSubtasks: false } },
    );
  };

  const stageOf = (title: string) => stages.get(title);

  const onEvent = (event: RunEvent) => {
    if ('nested' in event && event.nested) return;
    switch (event.type) {
      case 'phase': {
        // A stage starts only once the one before it settled without failing.
        for (const [title, earlier] of stages) {
          if (title === event.phase) break;
          earlier.failed.settle(undefined);
        }
        stageOf(event.phase)?.started.settle(event.hosts);
        return;
      }
      case 'output': {
        const stage = stageOf(event.phase);
        if (stage) row(stage, event.host).show?.(event.line);
        return;
      }
      case 'machine':
        if (!event.message) return;
        for (const stage of stages.values())
          stage.rows.get(event.machine)?.show?.(event.stage ? `${event.stage}: ${event.message}` : event.message);
        return;
      case 'host': {
        const stage = stageOf(event.phase);
        if (!stage) return;
        if (event.status === 'retrying')
          return row(stage, event.host).show?.(`connection lost; re-running (${event.detail ?? ''})`);
        if (event.status === 'started') return;
        row(stage, event.host).final.settle({
          status: event.status,
          ...(event.title ? { title: event.title } : {}),
          ...(event.detail ? { detail: event.detail } : {}),
        });
        return;
      }
      case 'phase-failed':
        stageOf(event.phase)?.failed.settle(event.detail);
        return;
      case 'done':
        // Stages that never started, items never reached: settle them as not run.
        for (const stage of stages.values()) {
          stage.started.settle(undefined);
          stage.failed.settle(undefined);
          for (const r of stage.rows.values()) r.final.settle({ status: 'not run' });
        }
        return;
    }
  };

  return {
    start(titles) {
      for (const title of titles) stages.set(title, { started: waiter(), failed: waiter(), rows: new Map() });
      const list = new Listr(
        titles.map((title) => ({ title, task: stageTask(title, stages.get(title)!) })),
        {
          concurrent: false,
          exitOnError: false,
          registerSignalListeners: false,
          collectErrors: false,
          renderer: 'default',
          fallbackRenderer: 'simple',
          rendererOptions: { timestamp: PRESET_TIMESTAMP, collapseSubtasks: false, showErrorMessage: false },
          fallbackRendererOptions: { timestamp: PRESET_TIMESTAMP },
        } as never,
      );
      running = list.run().catch(() => undefined);
    },
    event: onEvent,
    note: (line) => void process.stdout.write(`${visible(line)}\n`),
    progress: progressPrinter(),
    async end() {
      onEvent({ type: 'done', ok: false, interrupted: false });
      await running;
    },
  };
}
