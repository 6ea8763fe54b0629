/**
 * The dashboard at /app in a real browser (issue 15): Debian's headless Chromium driven by puppeteer-core against
 * the real server, offline (every other host fails to resolve). The journey: choose Kepler and a small random
 * forest, start, watch the live curve grow and the bar reach 100 %, read every result chart with the numbers the
 * API returns, rank the candidates, open one explanation; at desktop and phone widths, keyboard reachable, with no
 * console error. The same run's charts are then fetched as SVG images over plain HTTP. Screenshots go to
 * DASHBOARD_SCREENSHOT_DIR (default: a temporary folder, printed).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import puppeteer, { type Browser, type Page } from 'puppeteer-core';
import { HAS_KEPLER, startRun, startServer, waitForRun, type TestServer } from '../integration/harness.js';
import { documentText, PredictionRowsQuery, RunResultsQuery } from '../../src/dashboard/documents.js';
import type { ResultOf } from '../../src/client/graphql.js';
import { PLOT_NAMES } from '../../src/dashboard/charts.js';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const HAS_CHROMIUM = fs.existsSync(CHROMIUM);
if (!HAS_CHROMIUM) {
  console.warn(
    `SKIPPED the dashboard browser tests: no Chromium at ${CHROMIUM}. Install Debian's "chromium" package (apt-get install chromium) or set CHROMIUM_PATH.`,
  );
}
if (!HAS_KEPLER) console.warn('SKIPPED the dashboard tests: the Kepler table is missing.');

const SCREENSHOTS =
  process.env.DASHBOARD_SCREENSHOT_DIR ?? fs.mkdtempSync(path.join(os.tmpdir(), 'exoplanet-dashboard-screens-'));
/** Few trees: trains in about a second, still several live step events (one per tenth of the trees and more). */
const TREES = 30;

let server: TestServer;
let browser: Browser | undefined;
let page: Page;
let userDataDir: string | undefined;
const requests: string[] = [];
const consoleErrors: string[] = [];
const historyRequests: number[] = [];
/** The run the journey trained (the SVG tests reuse it). */
let runId = '';

beforeAll(async () => {
  server = await startServer({ env: { TRAINING_CONCURRENCY: '1' } });
  if (!HAS_CHROMIUM || !HAS_KEPLER) return;
  fs.mkdirSync(SCREENSHOTS, { recursive: true });
  userDataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'exoplanet-chromium-'));
  browser = await puppeteer.launch({
    executablePath: CHROMIUM,
    headless: true,
    userDataDir,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--disable-dev-shm-usage',
      // Offline: every host but the server's fails to resolve (requests to them are still recorded).
      '--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1',
    ],
  });
  page = await browser.newPage();
  await page.setViewport({ width: 1366, height: 860 });
  page.on('request', (request) => {
    requests.push(request.url());
    if (request.hasPostData())
      void request.fetchPostData().then((body) => {
        if (body?.includes('DashboardRunHistory')) historyRequests.push(performance.now());
      });
  });
  // Keep the page's WebSockets reachable, so a test can drop the live connection.
  await page.evaluateOnNewDocument(() => {
    const sockets: WebSocket[] = [];
    (window as unknown as { testSockets: WebSocket[] }).testSockets = sockets;
    const Native = window.WebSocket;
    window.WebSocket = class extends Native {
      constructor(url: string | URL, protocols?: string | string[]) {
        super(url, protocols);
        sockets.push(this);
      }
    };
  });
  page.on('console', (message) => {
    if (message.type() === 'error') consoleErrors.push(message.text());
  });
  page.on('pageerror', (error) => consoleErrors.push(String(error)));
});

afterAll(async () => {
  await browser?.close();
  if (userDataDir) fs.rmSync(userDataDir, { recursive: true, force: true });
  await server.stop();
  console.info(`dashboard screenshots: ${SCREENSHOTS}`);
});

function foreignRequests(): string[] {
  const origin = new URL(server.url).origin;
  return requests.filter((url) => !url.startsWith('data:') && new URL(url).origin !== origin);
}

/** A screenshot of one view (its section), or of the viewport: for review and for the README. */
async function screenshot(name: string, section?: string): Promise<void> {
  const file = path.join(SCREENSHOTS, `${name}.png`);
  const target = section ? await page.$(section) : null;
  if (!target) {
    await page.screenshot({ path: file });
    return;
  }
  // The sticky header would cover the top of a section scrolled into view.
  const unstick = () => document.querySelector('header')?.style.setProperty('position', 'static');
  await page.evaluate(unstick);
  await target.screenshot({ path: file });
  await page.evaluate(() => document.querySelector('header')?.style.removeProperty('position'));
}

const text = (selector: string) => page.$eval(selector, (e) => (e as HTMLElement).innerText);

describe.skipIf(!HAS_CHROMIUM || !HAS_KEPLER)('the dashboard in headless Chromium', () => {
  it('opens offline, with labelled, keyboard-reachable controls', async () => {
    const started = performance.now();
    await page.goto(`${server.url}/app`, { waitUntil: 'load' });
    await page.waitForSelector('#app[data-ready="true"]', { timeout: 30_000 });
    const resources = await page.evaluate(() =>
      performance.getEntriesByType('resource').map((r) => {
        const timing = r as PerformanceResourceTiming;
        return `${new URL(timing.name).pathname} ${Math.round(timing.duration)} ms ${timing.transferSize} B`;
      }),
    );
    console.info(
      `first load (bundle built on this request): ${Math.round(performance.now() - started)} ms; ${resources.join('; ')}`,
    );
    // Second load: the bundle is cached (ETag), the catalog's tables are parsed.
    const again = performance.now();
    await page.reload({ waitUntil: 'load' });
    await page.waitForSelector('#app[data-ready="true"]', { timeout: 30_000 });
    console.info(`second load: ${Math.round(performance.now() - again)} ms`);

    // Every form control has a label (its own <label> or an aria-label).
    const unlabelled = await page.$$eval('input, select, textarea', (controls) =>
      controls
        .filter((c) => (c as HTMLInputElement).labels?.length === 0 && !c.getAttribute('aria-label'))
        .map((c) => c.outerHTML.slice(0, 80)),
    );
    expect(unlabelled).toEqual([]);

    // Kepler is chosen with its class balance; the vetting (leakage) columns are shown and unticked.
    expect(await page.$eval('#dataset', (s) => (s as HTMLSelectElement).value)).toBe('kepler');
    expect(await text('#dataset-balance')).toMatch(/false_positive: [\d,]+ \(\d+ %\)/);
    const vetting = await page.$$eval('#vetting input', (boxes) => boxes.map((b) => b.checked));
    expect(vetting.length).toBeGreaterThan(0);
    expect(vetting.every((checked) => !checked)).toBe(true);
    expect(await page.$$eval('#features input:checked', (b) => b.length)).toBeGreaterThan(10);

    // The hyperparameter form comes from the catalog: random forest's typed parameters with their defaults.
    expect(await page.$eval('#model', (s) => (s as HTMLSelectElement).value)).toBe('random_forest');
    expect(await page.$eval('input[name="n_estimators"]', (i) => [i.value, i.getAttribute('max')])).toEqual([
      '100',
      '1000',
    ]);

    // Tab from the dataset choice reaches the start button.
    await page.focus('#dataset');
    let reached = false;
    for (let i = 0; i < 200 && !reached; i++) {
      await page.keyboard.press('Tab');
      reached = await page.evaluate(() => document.activeElement?.id === 'start');
    }
    expect(reached).toBe(true);
    await screenshot('dashboard-train', '#train');
  });

  it('trains Kepler with a random forest and draws the live curve as events arrive', async () => {
    await page.$eval(
      'input[name="n_estimators"]',
      (input, trees) => {
        input.value = String(trees);
      },
      TREES,
    );
    // Record every state of the live chart and the bar as the page draws them.
    await page.evaluate(() => {
      const seen: { points: number; redraws: number; events: number; progress: string; at: number }[] = [];
      (window as unknown as { liveLog: typeof seen }).liveLog = seen;
      const chart = document.getElementById('live-chart');
      const bar = document.querySelector('#live .bar');
      if (!chart || !bar) throw new Error('no live view');
      new MutationObserver(() => {
        seen.push({
          points: Number(chart.dataset.points),
          redraws: Number(chart.dataset.redraws),
          events: Number(chart.dataset.events),
          progress: bar.getAttribute('aria-valuenow') ?? '',
          at: performance.now(),
        });
      }).observe(chart, { attributes: true, attributeFilter: ['data-redraws'] });
    });
    const started = await page.evaluate(() => performance.now());
    await page.keyboard.press('Enter'); // the start button has the focus (previous test)
    await page.waitForSelector('#live-status[data-status="SUCCEEDED"]', { timeout: 60_000 });
    await page.waitForSelector('#chart-confusion svg', { timeout: 30_000 });
    const log = await page.evaluate(
      () =>
        (
          window as unknown as {
            liveLog: { points: number; redraws: number; events: number; progress: string; at: number }[];
          }
        ).liveLog,
    );
    const last = log[log.length - 1];
    // The curve grew while the run trained, and the bar reached 100 %.
    const pointCounts = [...new Set(log.map((l) => l.points))];
    expect(pointCounts.filter((n) => n > 0).length).toBeGreaterThanOrEqual(2);
    expect(last.progress).toBe('100');
    expect(await page.$eval('#live .bar', (b) => b.getAttribute('aria-valuenow'))).toBe('100');
    // At most 10 redraws a second, however many events arrived.
    const seconds = (last.at - started) / 1000;
    expect(last.redraws).toBeLessThanOrEqual(Math.ceil(seconds * 10) + 2);
    expect(last.events).toBeGreaterThan(3);

    runId = (await page.$eval('#results', (r) => (r as HTMLElement).dataset.runId)) ?? '';
    expect(runId).not.toBe('');
    // A forest reports no loss per tree: the live curve is its pace, one point per tree step the events reported.
    const { trainingRun } = await server.data<ResultOf<typeof RunResultsQuery>>(documentText(RunResultsQuery), {
      runId,
    });
    expect(trainingRun?.history.every((p) => p.loss === null && p.valLoss === null && p.valAccuracy === null)).toBe(
      true,
    );
    expect(await page.$eval('#live-chart', (c) => (c as HTMLElement).dataset.kind)).toBe('pace');
    expect(await page.$eval('#live-chart svg', (svg) => svg.getAttribute('aria-label'))).toBe('Training pace');
    await screenshot('dashboard-live', '#live');
  });

  it('shows each result chart with the numbers the API returns', async () => {
    const { trainingRun } = await server.data<ResultOf<typeof RunResultsQuery>>(documentText(RunResultsQuery), {
      runId,
    });
    if (!trainingRun?.metrics) throw new Error(`run ${runId} has no metrics`);
    const run = trainingRun;
    const metrics = trainingRun.metrics;
    expect(run.hyperparameters).toMatchObject({ n_estimators: TREES });

    // Metrics beside the majority baseline.
    const accuracyRow = await text('#metrics tr[data-metric="accuracy"]');
    expect(accuracyRow).toContain(metrics.accuracy?.toFixed(3));
    expect(accuracyRow).toContain(metrics.majorityBaselineAccuracy?.toFixed(3));

    // Confusion matrix: every count of the API's matrix is a cell of the heatmap.
    const confusion = await page.$$eval('#chart-confusion svg text', (texts) => texts.map((t) => t.textContent));
    for (const row of metrics.confusionMatrix.matrix)
      for (const count of row) expect(confusion.some((t) => t.startsWith(String(count)))).toBe(true);

    // ROC and PR: one curve per class, the legend says each class's AUC as the API does.
    for (const kind of ['roc', 'pr'] as const) {
      const legend = (await page.$$eval(`#chart-${kind} svg text`, (t) => t.map((x) => x.textContent))).join(' ');
      for (const c of metrics.perClass) {
        const area = kind === 'roc' ? c.rocAuc : c.prAuc;
        expect(legend).toContain(`${c.label} (${kind === 'roc' ? 'ROC' : 'PR'} AUC ${area?.toFixed(3)})`);
      }
      const curves = await page.$$eval(`#chart-${kind} svg path[stroke]`, (p) => p.length);
      expect(curves).toBeGreaterThanOrEqual(metrics.rocCurves.length);
    }
    expect(await page.$('#chart-calibration svg')).not.toBeNull();
    // Importance: every feature drawn is one of the API's, the largest first.
    const importance = await page.$$eval('#chart-importance svg [aria-label="fy-axis tick label"] text', (t) =>
      t.map((x) => x.textContent),
    );
    const features = (run.featureImportance ?? []).map((f) => f.feature);
    expect(importance.length).toBeGreaterThan(0);
    expect(importance.every((f) => features.includes(f))).toBe(true);

    // The run appears in the session's history.
    expect(await page.$$eval('#runs tbody tr', (rows) => rows.map((r) => (r as HTMLElement).dataset.runId))).toEqual([
      runId,
    ]);
    await screenshot('dashboard-results', '#results');
  });

  it('ranks the candidates and explains one as a waterfall', async () => {
    await page.click('#rank');
    await page.waitForSelector('#candidates tbody tr', { timeout: 30_000 });
    const shown = await page.$$eval('#candidates tbody tr', (rows) =>
      rows.map((r) => Number((r as HTMLElement).dataset.rowIndex)),
    );
    expect(shown.length).toBe(20);
    const status = await text('#rank-status');
    const count = Number(/(\d+) unresolved candidates/.exec(status)?.[1]);
    expect(count).toBeGreaterThan(100);
    // The order is the API's ranking by planet probability.
    const csv = await page.$eval('#csv', (a) => (a as HTMLAnchorElement).href);
    const predictionId = /\/api\/predictions\/([^/]+)\.csv$/.exec(csv)?.[1] ?? '';
    const { prediction } = await server.data<ResultOf<typeof PredictionRowsQuery>>(documentText(PredictionRowsQuery), {
      id: predictionId,
      offset: 0,
      limit: 20,
      sortByClass: 'planet',
      ascending: false,
    });
    expect(shown).toEqual(prediction?.rows.map((r) => r.rowIndex));

    // Sorting flips the order; paging moves on.
    await page.click('#sort-planet');
    await page.waitForFunction(() => document.querySelector('#sort-planet')?.textContent.includes('▲'));
    await page.click('#sort-planet');
    await page.waitForFunction(() => document.querySelector('#sort-planet')?.textContent.includes('▼'));
    await page.click('#page-next');
    await page.waitForFunction(() => document.querySelector('#candidates tbody tr td')?.textContent === '21');
    await page.click('#page-prev');
    await page.waitForFunction(() => document.querySelector('#candidates tbody tr td')?.textContent === '1');

    // Keyboard: Enter on the first row opens its explanation.
    await page.focus('#candidates tbody tr');
    await page.keyboard.press('Enter');
    await page.waitForSelector('#explanation figure svg', { timeout: 30_000 });
    const reasons = await page.$$eval('#explanation .reasons li', (items) => items.map((i) => i.textContent));
    expect(reasons.length).toBeGreaterThan(0);
    const waterfall = (await page.$$eval('#explanation svg text', (t) => t.map((x) => x.textContent))).join(' ');
    expect(waterfall).toContain('base value');
    expect(waterfall).toContain('output (planet)');
    // Its base value and output are the API's explanation of that candidate.
    const summary = await text('#explanation p.muted');
    const base = Number(/base value (-?[\d.]+)/.exec(summary)?.[1]);
    const output = Number(/output (-?[\d.]+)/.exec(summary)?.[1]);
    expect(Number.isFinite(base) && Number.isFinite(output)).toBe(true);
    await screenshot('dashboard-candidates', '#use');
  });

  it('predicts and explains a pasted row', async () => {
    await page.$eval('#paste-row', (area) => {
      (area as HTMLTextAreaElement).value = JSON.stringify({
        koi_period: 9.48803557,
        koi_prad: 2.26,
        koi_depth: 615.8,
        koi_model_snr: 35.8,
      });
    });
    await page.click('#predict');
    await page.waitForSelector('#predict-result svg', { timeout: 30_000 });
    expect(await text('#predict-summary')).toMatch(/^Predicted (planet|candidate|false_positive) \(/);
  });

  it("draws a boosting run's loss curve live and compares it with the forest", async () => {
    await page.select('#model', 'xgboost');
    await page.$eval('input[name="n_estimators"]', (input) => {
      input.value = '20';
    });
    await page.click('#start');
    await page.waitForFunction(
      (previous) => {
        const status = document.querySelector('#live-status');
        return (
          status instanceof HTMLElement && status.dataset.status === 'SUCCEEDED' && !status.innerText.includes(previous)
        );
      },
      { timeout: 60_000 },
      runId,
    );
    await page.waitForFunction(
      (previous) => {
        const results = document.getElementById('results');
        return results?.dataset.runId !== previous && document.querySelector('#chart-confusion svg') !== null;
      },
      { timeout: 30_000 },
      runId,
    );
    const boostedId = (await page.$eval('#results', (r) => (r as HTMLElement).dataset.runId)) ?? '';
    const { trainingRun } = await server.data<ResultOf<typeof RunResultsQuery>>(documentText(RunResultsQuery), {
      runId: boostedId,
    });
    expect(trainingRun?.modelType).toBe('xgboost');
    // One point per boosting round, training and validation loss: the finished model's own curve.
    expect(
      await page.$eval('#live-chart', (c) => [(c as HTMLElement).dataset.kind, (c as HTMLElement).dataset.points]),
    ).toEqual(['loss', String(trainingRun?.history.length)]);
    expect(trainingRun?.history.length).toBe(20);
    const legend = await page.$$eval('#live-chart svg text', (t) => t.map((x) => x.textContent).join(' '));
    expect(legend).toContain('training loss');
    expect(legend).toContain('validation loss');

    // History: both runs, newest first; tick both to compare them side by side.
    await page.waitForFunction(() => document.querySelectorAll('#runs tbody tr').length === 2);
    expect(await page.$$eval('#runs tbody tr', (rows) => rows.map((r) => r.dataset.runId))).toEqual([boostedId, runId]);
    for (const id of [runId, boostedId]) await page.click(`#runs tr[data-run-id="${id}"] input[type="checkbox"]`);
    await page.waitForSelector('#compare-table');
    const compared = await text('#compare-table');
    expect(compared).toContain('random_forest');
    expect(compared).toContain('xgboost');
    expect(compared).toContain(trainingRun?.metrics?.macroF1?.toFixed(3));
    await screenshot('dashboard-history', '#history');
    // Back to the forest's results for the tests below.
    await page.click(`#runs tr[data-run-id="${runId}"] button`);
    await page.waitForFunction((id) => document.getElementById('results')?.dataset.runId === id, {}, runId);
  });

  it('starts again from the snapshot when the live connection drops, and loses no event', async () => {
    await page.select('#model', 'random_forest');
    await page.$eval('input[name="n_estimators"]', (input) => {
      input.value = '400';
    });
    const previous = (await page.$eval('#results', (r) => (r as HTMLElement).dataset.runId)) ?? '';
    await page.click('#start');
    // Wait for the first trees, then drop the WebSocket under the subscription.
    await page.waitForFunction(
      () => {
        const chart = document.getElementById('live-chart');
        return chart?.dataset.kind === 'pace' && Number(chart.dataset.points) > 2;
      },
      { timeout: 30_000 },
    );
    const snapshotsBefore = historyRequests.length;
    const eventsBefore = Number(await page.$eval('#live-chart', (c) => (c as HTMLElement).dataset.events));
    const sockets = await page.evaluate(() => {
      const list = (window as unknown as { testSockets: WebSocket[] }).testSockets;
      for (const socket of list) if (socket.readyState === WebSocket.OPEN) socket.close(1000, 'test: connection lost');
      return list.length;
    });
    await page.waitForFunction(
      (before) => (window as unknown as { testSockets: WebSocket[] }).testSockets.length > before,
      { timeout: 15_000 },
      sockets,
    );
    await page.waitForFunction(
      (id) => {
        const results = document.getElementById('results');
        return results?.dataset.runId !== id && document.querySelector('#chart-confusion svg') !== null;
      },
      { timeout: 60_000 },
      previous,
    );
    // A new connection, a fresh snapshot (the run's stored history) before the end, and events after it.
    expect(historyRequests.length).toBeGreaterThanOrEqual(snapshotsBefore + 2);
    expect(Number(await page.$eval('#live-chart', (c) => (c as HTMLElement).dataset.events))).toBeGreaterThan(
      eventsBefore,
    );
    const reconnectedId = (await page.$eval('#results', (r) => (r as HTMLElement).dataset.runId)) ?? '';
    const { trainingRun } = await server.data<{ trainingRun: { events: { stage: string; step: number }[] } }>(
      'query ($id: ID!) { trainingRun(id: $id) { events { stage step } } }',
      { id: reconnectedId },
    );
    // Every training step the server stored is on the curve.
    const steps = new Set(trainingRun.events.filter((e) => e.stage === 'TRAINING').map((e) => e.step));
    expect(await page.$eval('#live-chart', (c) => (c as HTMLElement).dataset.points)).toBe(String(steps.size));
    expect(await page.$eval('#live .bar', (b) => b.getAttribute('aria-valuenow'))).toBe('100');
    // Back to the first forest for the tests below.
    await page.click(`#runs tr[data-run-id="${runId}"] button`);
    await page.waitForFunction((id) => document.getElementById('results')?.dataset.runId === id, {}, runId);
  });

  it('cancels a run from the page', async () => {
    await page.select('#model', 'random_forest');
    await page.$eval('input[name="n_estimators"]', (input) => {
      input.value = '1000';
    });
    const shown = await page.$eval('#results', (r) => (r as HTMLElement).dataset.runId);
    await page.click('#start');
    await page.waitForFunction(() => document.querySelector<HTMLButtonElement>('button#cancel')?.disabled === false);
    await page.waitForFunction(() => document.getElementById('live-status')?.dataset.status === 'RUNNING', {
      timeout: 30_000,
    });
    await page.click('#cancel');
    await page.waitForSelector('#live-status[data-status="CANCELLED"]', { timeout: 30_000 });
    // The start button is back, the results still show the last succeeded run, the history lists the cancelled one.
    await page.waitForFunction(() => document.querySelector<HTMLButtonElement>('button#start')?.disabled === false);
    expect(await page.$eval('#results', (r) => (r as HTMLElement).dataset.runId)).toBe(shown);
    await page.waitForFunction(() =>
      [...document.querySelectorAll('#runs tbody tr')].some((r) => r.textContent.includes('CANCELLED')),
    );
  });

  it('uploads a CSV by file choice and shows why a bad one is refused', async () => {
    const input = await page.$('input#upload-file');
    if (!input) throw new Error('no file input');
    await input.uploadFile(path.resolve('examples/kepler-sample.csv'));
    await page.waitForFunction(() => document.querySelector('#upload-message')?.textContent.includes('rows'), {
      timeout: 20_000,
    });
    expect(await text('#upload-message')).toMatch(/kepler-sample\.csv: \d+ rows, classes /);
    expect(await page.$eval('#dataset', (s) => (s as HTMLSelectElement).selectedOptions[0].textContent)).toContain(
      'kepler-sample.csv',
    );
    const errorsBefore = consoleErrors.length;
    const bad = path.join(SCREENSHOTS, 'not-a-table.csv');
    fs.writeFileSync(bad, 'just one column\nno label here\n');
    await input.uploadFile(bad);
    await page.waitForSelector('#upload-message [role="alert"]', { timeout: 20_000 });
    expect(await text('#upload-message')).toContain('not-a-table.csv was refused:');
    // Chromium logs the refused upload's 400 as a console error: the only one expected in the journey.
    expect(consoleErrors.slice(errorsBefore)).toEqual([expect.stringContaining('status of 400')]);
    consoleErrors.splice(errorsBefore);
    // Dropped on the drop zone, as a file dragged from the desktop.
    const csv = fs.readFileSync('examples/kepler-sample.csv', 'utf8');
    await page.evaluate((content) => {
      const transfer = new DataTransfer();
      transfer.items.add(new File([content], 'dropped.csv', { type: 'text/csv' }));
      const zone = document.getElementById('drop');
      zone?.dispatchEvent(new DragEvent('dragover', { dataTransfer: transfer, bubbles: true, cancelable: true }));
      zone?.dispatchEvent(new DragEvent('drop', { dataTransfer: transfer, bubbles: true, cancelable: true }));
    }, csv);
    await page.waitForFunction(
      () => document.querySelector('#upload-message')?.textContent.startsWith('dropped.csv:'),
      {
        timeout: 20_000,
      },
    );
    expect(await page.$eval('#dataset', (s) => (s as HTMLSelectElement).selectedOptions[0].textContent)).toContain(
      'dropped.csv',
    );
    await page.select('#dataset', 'kepler');
  });

  it('is readable at phone width, keeps the session on reload, and logged no console error', async () => {
    await page.setViewport({ width: 390, height: 844, isMobile: true, hasTouch: true });
    await page.reload({ waitUntil: 'load' });
    await page.waitForSelector('#app[data-ready="true"]', { timeout: 30_000 });
    await page.waitForSelector(`#runs tr[data-run-id="${runId}"]`, { timeout: 10_000 });
    const overflow = await page.evaluate(
      () => document.documentElement.scrollWidth - document.documentElement.clientWidth,
    );
    expect(overflow).toBeLessThanOrEqual(1);
    await screenshot('dashboard-phone');
    expect(consoleErrors).toEqual([]);
    expect(foreignRequests()).toEqual([]);
  });
});

describe('the page over plain HTTP', () => {
  it('is linked from the HTML home page; the JSON home for API clients stays as it was', async () => {
    const html = await fetch(`${server.url}/`, { headers: { accept: 'text/html' } });
    expect(await html.text()).toContain('<a href="/app">Open the dashboard</a>');
    const json = await fetch(`${server.url}/`, { headers: { accept: 'application/json' } });
    expect(json.headers.get('content-type')).toContain('application/json');
    const page = await fetch(`${server.url}/app`);
    expect(page.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(await page.text()).toContain('<script type="module" src="/app/dashboard.js"></script>');
    const posted = await fetch(`${server.url}/app`, { method: 'POST' });
    expect(posted.status).toBe(405);
  });
});

describe.skipIf(!HAS_KEPLER)('the charts as SVG images over plain HTTP', () => {
  it('serves every plot of a run as image/svg+xml, and 404 with the JSON error shape otherwise', async () => {
    if (!runId) {
      // Without the browser journey: train the same small forest here.
      ({ runId } = await startRun(server, {
        datasetId: 'kepler',
        modelType: 'random_forest',
        hyperparameters: { n_estimators: TREES },
      }));
      expect(await waitForRun(server, runId)).toBe('SUCCEEDED');
    }
    const { trainingRun } = await server.data<ResultOf<typeof RunResultsQuery>>(documentText(RunResultsQuery), {
      runId,
    });
    const matrix = trainingRun?.metrics?.confusionMatrix.matrix ?? [];
    // The forest has no loss curve: 409 says why.
    const noLoss = await fetch(`${server.url}/api/runs/${runId}/plots/loss.svg`);
    expect(noLoss.status).toBe(409);
    expect(await noLoss.json()).toMatchObject({ status: 'error', code: 'CONFLICT' });
    // Gradient boosting reports training and validation loss per round.
    const boosted = await startRun(server, {
      datasetId: 'kepler',
      modelType: 'xgboost',
      hyperparameters: { n_estimators: 20 },
    });
    expect(await waitForRun(server, boosted.runId)).toBe('SUCCEEDED');
    const loss = await fetch(`${server.url}/api/runs/${boosted.runId}/plots/loss.svg`);
    expect(loss.status).toBe(200);
    const lossSvg = await loss.text();
    expect(lossSvg).toContain('validation loss');
    expect(lossSvg).toMatch(/<path[^>]* d="M/);

    for (const name of PLOT_NAMES.filter((n) => n !== 'loss')) {
      const started = performance.now();
      const response = await fetch(`${server.url}/api/runs/${runId}/plots/${name}.svg`);
      const body = await response.text();
      console.info(`${name}.svg: ${body.length} bytes in ${Math.round(performance.now() - started)} ms`);
      expect(response.status, name).toBe(200);
      expect(response.headers.get('content-type')).toBe('image/svg+xml; charset=utf-8');
      expect(body.startsWith('<?xml')).toBe(true);
      expect(body).toMatch(/<svg[^>]* xmlns="http:\/\/www\.w3\.org\/2000\/svg"/);
      expect(body.trimEnd().endsWith('</svg>')).toBe(true);
      if (name === 'confusion') for (const row of matrix) for (const count of row) expect(body).toContain(`>${count}<`);
    }
    const wide = await fetch(`${server.url}/api/runs/${runId}/plots/roc.svg?width=1000`);
    expect(await wide.text()).toContain('width="1000"');

    const unknownRun = await fetch(`${server.url}/api/runs/run_nope/plots/roc.svg`);
    expect(unknownRun.status).toBe(404);
    expect(await unknownRun.json()).toEqual({
      status: 'error',
      code: 'NOT_FOUND',
      error: 'Training run run_nope not found.',
    });
    const unknownPlot = await fetch(`${server.url}/api/runs/${runId}/plots/pie.svg`);
    expect(unknownPlot.status).toBe(404);
    expect(await unknownPlot.json()).toMatchObject({ status: 'error', code: 'NOT_FOUND' });
    const badWidth = await fetch(`${server.url}/api/runs/${runId}/plots/roc.svg?width=5`);
    expect(badWidth.status).toBe(400);
  });
});
