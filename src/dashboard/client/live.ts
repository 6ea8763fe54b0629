/// <reference lib="dom" />
/**
 * Live training: progress bar, stage, ETA and queue position, and the loss / validation curve drawn as events
 * arrive. Redraws are batched to at most 10 a second; each (re)connection starts from the server's snapshot
 * (the subscription's first event, plus the run's stored history), so no event is lost across a reconnect.
 */
import { hasFigures, lossChart, paceChart, type HistoryPointData } from '../charts.js';
import { ProgressSubscription, RunHistoryQuery, type ProgressEvent } from '../documents.js';
import { errorText, onConnected, request, subscribe, type Subscription } from './api.js';
import type { AppContext } from './context.js';
import { card, h, replace, seconds } from './dom.js';

const MIN_REDRAW_MS = 100;
const TERMINAL = new Set(['SUCCEEDED', 'FAILED', 'CANCELLED']);

export interface LiveView {
  element: HTMLElement;
  watch(runId: string): void;
  /** The run followed, while it has not ended. */
  activeRun(): string | null;
}

export function liveView(ctx: Pick<AppContext, 'finished'>, onActiveChange: (active: boolean) => void): LiveView {
  const status = h('p', { class: 'muted', id: 'live-status', role: 'status' }, 'No run yet: start one above.');
  const fill = h('div', { style: 'width:0%' });
  const bar = h(
    'div',
    {
      class: 'bar',
      role: 'progressbar',
      'aria-valuemin': 0,
      'aria-valuemax': 100,
      'aria-valuenow': 0,
      'aria-labelledby': 'live-title',
    },
    fill,
  );
  const detail = h('p', { id: 'live-detail', class: 'muted' });
  const chart = h('figure', { id: 'live-chart', 'data-redraws': 0, 'data-events': 0, 'data-points': 0 });
  const element = card('live', 'Watch live', status, bar, detail, chart);

  let subscription: Subscription | null = null;
  let runId: string | null = null;
  let active = false;
  let points = new Map<number, HistoryPointData>();
  /** Seconds at which each TRAINING step was reached (Date.parse of the events' `at`), for the pace curve. */
  let pace = new Map<number, number>();
  let totalSteps = 0;
  let latest: ProgressEvent | null = null;
  let lastDraw = 0;
  let timer: ReturnType<typeof setTimeout> | null = null;
  let redraws = 0;
  let events = 0;
  let snapshotPending = true;

  function draw(): void {
    timer = null;
    lastDraw = performance.now();
    redraws += 1;
    chart.dataset.redraws = String(redraws);
    chart.dataset.events = String(events);
    if (latest) {
      const percent = Math.round(latest.progress * 1000) / 10;
      fill.style.width = `${percent}%`;
      bar.setAttribute('aria-valuenow', String(percent));
      bar.setAttribute('aria-valuetext', `${percent} %, ${latest.stage.toLowerCase()}`);
      const queue = latest.queuePosition !== null ? ` · position ${latest.queuePosition} in the queue` : '';
      replace(status, `${latest.status} · ${latest.stage} · ${percent} %${queue}`);
      status.dataset.status = latest.status;
      status.dataset.progress = String(latest.progress);
      replace(
        detail,
        `Step ${latest.step} of ${latest.totalSteps}`,
        latest.etaSeconds !== null ? ` · about ${seconds(latest.etaSeconds)} left in this stage` : '',
        latest.message ? ` · ${latest.message}` : '',
      );
    }
    const history = [...points.values()].filter(hasFigures).sort((a, b) => a.step - b.step);
    const width = Math.min(900, chart.clientWidth || 640);
    let drawn: SVGSVGElement | HTMLElement;
    if (history.length > 0) {
      chart.dataset.points = String(history.length);
      chart.dataset.kind = 'loss';
      drawn = lossChart(history, { document, width }, 'tree, round or epoch');
    } else if (pace.size > 0) {
      // Models without per-step figures (forests): how fast the trees grow is the live curve.
      const start = Math.min(...pace.values());
      const steps = [...pace.entries()].sort((a, b) => a[0] - b[0]);
      chart.dataset.points = String(steps.length);
      chart.dataset.kind = 'pace';
      drawn = paceChart(
        [{ seconds: 0, step: 0 }, ...steps.map(([step, at]) => ({ step, seconds: (at - start) / 1000 }))],
        totalSteps,
        { document, width },
      );
    } else {
      chart.dataset.points = '0';
      drawn = h('p', { class: 'muted' }, 'The curve appears with the first trees, rounds or epochs.');
    }
    const title =
      chart.dataset.kind === 'pace'
        ? 'Training pace (this model reports no loss per step)'
        : 'Loss and validation curve';
    replace(
      chart,
      h(
        'figcaption',
        {},
        title,
        runId && chart.dataset.kind === 'loss' ? h('a', { href: `/api/runs/${runId}/plots/loss.svg` }, 'SVG') : null,
      ),
      drawn,
    );
  }

  /** At most one redraw per MIN_REDRAW_MS, however fast events arrive. */
  function schedule(): void {
    if (timer !== null) return;
    timer = setTimeout(draw, Math.max(0, lastDraw + MIN_REDRAW_MS - performance.now()));
  }

  async function loadSnapshot(id: string): Promise<void> {
    const { trainingRun } = await request(RunHistoryQuery, { runId: id });
    if (id !== runId || !trainingRun) return;
    for (const p of trainingRun.history) points.set(p.step, p);
    for (const e of trainingRun.events) notePace(e.stage, e.step, e.totalSteps, e.at);
    schedule();
  }

  function notePace(stage: string, step: number, total: number, at: string): void {
    if (stage !== 'TRAINING') return;
    // The stage's first event (step 0) marks its start; later ones keep the earliest time a step was reached.
    const time = Date.parse(at);
    if (!pace.has(step) || time < (pace.get(step) ?? time)) pace.set(step, time);
    if (total > 0) totalSteps = total;
  }

  function setActive(value: boolean): void {
    active = value;
    onActiveChange(value);
  }

  function onEvent(event: ProgressEvent): void {
    if (event.runId !== runId) return;
    events += 1;
    if (snapshotPending) {
      // First event of this (re)subscription: the server's snapshot. Points stored while we were away come from
      // the run's history.
      snapshotPending = false;
      void loadSnapshot(event.runId).catch((error: unknown) => {
        replace(detail, errorText(error));
      });
    }
    if (latest === null || event.seq >= latest.seq) latest = event;
    notePace(event.stage, event.step, event.totalSteps, event.at);
    if (event.stage === 'TRAINING' && event.metrics && event.step > 0) {
      const { loss, valLoss, valAccuracy } = event.metrics;
      if (loss !== null || valLoss !== null || valAccuracy !== null)
        points.set(event.step, { step: event.step, loss, valLoss, valAccuracy });
    }
    schedule();
    if (TERMINAL.has(event.status)) {
      setActive(false);
      const id = event.runId;
      // The finished model's own curve (per step) replaces the sampled live one.
      void loadSnapshot(id).finally(() => {
        ctx.finished(id, event.status);
      });
    }
  }

  onConnected(() => {
    snapshotPending = true;
  });

  return {
    element,
    activeRun: () => (active ? runId : null),
    watch(id: string) {
      subscription?.dispose();
      runId = id;
      points = new Map();
      pace = new Map();
      totalSteps = 0;
      chart.dataset.kind = '';
      latest = null;
      events = 0;
      snapshotPending = true;
      setActive(true);
      replace(status, `Run ${id}: connecting…`);
      schedule();
      subscription = subscribe(
        ProgressSubscription,
        { runId: id },
        {
          next: (data) => {
            onEvent(data.trainingProgress);
          },
          error: (error) => {
            replace(detail, h('span', { class: 'error', role: 'alert' }, errorText(error)));
          },
          complete: () => {
            subscription = null;
          },
        },
      );
    },
  };
}
