/// <reference lib="dom" />
/**
 * Train: a dataset (a NASA mission with its class balance, or a CSV dropped here), the task, a model type with a
 * form generated from the catalog's typed hyperparameters, the features (the vetting columns shown, explained
 * and off by default), then start / cancel.
 */
import {
  CancelTrainingMutation,
  ConfigureSessionMutation,
  StartTrainingMutation,
  UploadDatasetMutation,
  type ConfigureInput,
  type DatasetInfo,
  type HyperparameterInfo,
  type ModelInfo,
} from '../documents.js';
import { errorText, request, upload } from './api.js';
import type { AppContext } from './context.js';
import { card, h, replace, uid } from './dom.js';

export interface TrainView {
  element: HTMLElement;
  /** The catalog changed (after an upload): rebuild the dataset choices. */
  refresh(selectDatasetId?: string): void;
  setActiveRun(runId: string | null): void;
}

function datasetLabel(d: DatasetInfo): string {
  const rows = d.rowCount === null ? '' : ` — ${d.rowCount.toLocaleString('en')} rows`;
  return `${d.name}${rows}${d.available ? '' : ' (unavailable)'}`;
}

/** One input per hyperparameter, typed by the catalog; `read` returns the values to send. */
function hyperparameterInput(p: HyperparameterInfo): { element: HTMLElement; read(): unknown } {
  const id = uid(`hp-${p.name}`);
  const helpId = `${id}-help`;
  const help = h('span', { class: 'help', id: helpId }, `${p.description} ${p.allowed}`.trim());
  const label = (control: HTMLElement) => h('label', { for: id }, p.name, control, help);
  const fallback = p.default ?? '';
  if (p.type === 'BOOL') {
    const input = h('input', { type: 'checkbox', id, 'aria-describedby': helpId, checked: fallback === true });
    return { element: h('label', { class: 'check', for: id }, input, p.name, help), read: () => input.checked };
  }
  if (p.type === 'ENUM' && p.choices) {
    const select = h(
      'select',
      { id, 'aria-describedby': helpId },
      p.nullable ? h('option', { value: '' }, 'none') : null,
      p.choices.map((c) => h('option', { value: c, selected: c === fallback }, c)),
    );
    return { element: label(select), read: () => (select.value === '' ? null : select.value) };
  }
  const numeric = (p.type === 'INT' || p.type === 'FLOAT') && !p.specialValues?.length;
  const input = h('input', {
    id,
    name: p.name,
    'aria-describedby': helpId,
    type: numeric ? 'number' : 'text',
    min: numeric && p.min !== null ? p.min : null,
    max: numeric && p.max !== null ? p.max : null,
    step: numeric ? (p.type === 'INT' ? 1 : 'any') : null,
    value: Array.isArray(fallback) ? fallback.join(', ') : String(fallback as string | number),
    placeholder: p.nullable ? 'none' : null,
    list: p.specialValues?.length ? `${id}-special` : null,
  });
  const special = p.specialValues?.length
    ? h(
        'datalist',
        { id: `${id}-special` },
        p.specialValues.map((v) => h('option', { value: v })),
      )
    : null;
  const read = (): unknown => {
    const text = input.value.trim();
    if (text === '') return p.nullable ? null : undefined;
    if (p.type === 'INT_LIST')
      return text
        .split(/[\s,]+/)
        .filter(Boolean)
        .map(Number);
    if (p.type === 'INT' || p.type === 'FLOAT') {
      const n = Number(text);
      return Number.isNaN(n) ? text : n;
    }
    return text;
  };
  return { element: h('div', {}, label(input), special), read };
}

export function trainView(ctx: AppContext): TrainView {
  const message = h('p', { id: 'train-message', role: 'status' });
  const datasetSelect = h('select', { id: 'dataset' });
  const balance = h('p', { class: 'pills', id: 'dataset-balance', 'aria-live': 'polite' });
  const taskSelect = h(
    'select',
    { id: 'task' },
    h('option', { value: 'THREE_CLASS' }, 'three classes: false positive / candidate / planet'),
    h('option', { value: 'BINARY' }, 'binary: planet vs false positive (candidates left to rank)'),
  );
  const modelSelect = h(
    'select',
    { id: 'model' },
    ctx.catalog.models.map((m) => h('option', { value: m.id }, m.name)),
  );
  const modelHelp = h('p', { class: 'help', id: 'model-help' });
  const params = h('div', { class: 'params', id: 'hyperparameters' });
  const features = h('div', { class: 'features', id: 'features' });
  const leakage = h('div', { class: 'features', id: 'vetting' });
  const startButton = h('button', { type: 'button', id: 'start' }, 'Start training');
  const cancelButton = h('button', { type: 'button', id: 'cancel', class: 'secondary', disabled: true }, 'Cancel');
  const fileInput = h('input', { type: 'file', id: 'upload-file', accept: '.csv,text/csv' });
  const drop = h(
    'div',
    { class: 'drop', id: 'drop' },
    'Drop a CSV here, or ',
    h('label', { class: 'check', for: 'upload-file', style: 'display:inline-flex' }, 'choose a file', fileInput),
  );
  const uploadMessage = h('p', { id: 'upload-message', role: 'status' });

  let readers: { name: string; read(): unknown }[] = [];
  let featureBoxes: { name: string; box: HTMLInputElement; vetting: boolean }[] = [];
  let activeRun: string | null = null;

  const dataset = (): DatasetInfo | undefined => ctx.catalog.datasets.find((d) => d.id === datasetSelect.value);
  const model = (): ModelInfo | undefined => ctx.catalog.models.find((m) => m.id === modelSelect.value);

  function renderModel(): void {
    const m = model();
    if (!m) return;
    replace(modelHelp, `${m.description} Explanations: ${m.explanation}`);
    const inputs = m.hyperparameters.map((p) => ({ name: p.name, ...hyperparameterInput(p) }));
    readers = inputs;
    replace(
      params,
      inputs.map((i) => i.element),
    );
  }

  function renderDataset(): void {
    const d = dataset();
    if (!d) return;
    const total = d.classCounts.reduce((sum, c) => sum + c.count, 0);
    replace(
      balance,
      d.available
        ? d.classCounts.map((c) =>
            h(
              'span',
              { class: 'pill' },
              `${c.label}: ${c.count.toLocaleString('en')} (${total ? Math.round((c.count / total) * 100) : 0} %)`,
            ),
          )
        : h('span', { class: 'error' }, d.hint ?? 'unavailable'),
    );
    const defaults = new Set(d.featureColumns);
    const box = (name: string, vetting: boolean) => {
      const id = uid('feature');
      const input = h('input', { type: 'checkbox', id, value: name, checked: !vetting && defaults.has(name) });
      featureBoxes.push({ name, box: input, vetting });
      return h('label', { class: 'check', for: id }, input, name);
    };
    featureBoxes = [];
    const vetting = new Set(d.vettingColumns);
    replace(
      features,
      d.featureCandidates.filter((f) => !vetting.has(f)).map((f) => box(f, false)),
    );
    replace(
      leakage,
      d.vettingColumns.length === 0
        ? h('span', { class: 'muted' }, 'This dataset has no vetting columns.')
        : d.vettingColumns.map((f) => box(f, true)),
    );
  }

  function refresh(selectDatasetId?: string): void {
    const current = selectDatasetId ?? (datasetSelect.value || 'kepler');
    replace(
      datasetSelect,
      ctx.catalog.datasets.map((d) =>
        h('option', { value: d.id, disabled: !d.available, selected: d.id === current }, datasetLabel(d)),
      ),
    );
    renderDataset();
  }

  async function uploadFile(file: File): Promise<void> {
    replace(uploadMessage, `Uploading ${file.name}…`);
    try {
      const { uploadDataset } = await upload(UploadDatasetMutation, { file, name: file.name }, 'file', file);
      await ctx.reloadCatalog();
      refresh(uploadDataset.id);
      replace(
        uploadMessage,
        `${uploadDataset.name}: ${uploadDataset.rowCount ?? 0} rows, classes ${uploadDataset.classes.join(', ')}.`,
      );
    } catch (error) {
      replace(
        uploadMessage,
        h('span', { class: 'error', role: 'alert' }, `${file.name} was refused: ${errorText(error)}`),
      );
    }
  }

  async function start(): Promise<void> {
    startButton.disabled = true;
    replace(message, 'Starting…');
    try {
      const hyperparameters: Record<string, unknown> = {};
      for (const r of readers) {
        const value = r.read();
        if (value !== undefined) hyperparameters[r.name] = value;
      }
      const chosen = featureBoxes.filter((f) => f.box.checked);
      const input: ConfigureInput = {
        sessionId: ctx.sessionId,
        datasetId: datasetSelect.value,
        modelType: modelSelect.value,
        task: taskSelect.value === 'BINARY' ? 'BINARY' : 'THREE_CLASS',
        hyperparameters,
        features: chosen.map((f) => f.name),
        useVettingFeatures: chosen.some((f) => f.vetting),
      };
      await request(ConfigureSessionMutation, { input });
      const { startTraining } = await request(StartTrainingMutation, { sessionId: ctx.sessionId });
      replace(
        message,
        `Run ${startTraining.id} ${startTraining.status.toLowerCase()}`,
        startTraining.queuePosition !== null ? `, position ${startTraining.queuePosition} in the queue` : '',
        '.',
      );
      ctx.watch(startTraining.id);
    } catch (error) {
      replace(message, h('span', { class: 'error', role: 'alert' }, errorText(error)));
      startButton.disabled = false;
    }
  }

  async function cancel(): Promise<void> {
    if (!activeRun) return;
    try {
      await request(CancelTrainingMutation, { runId: activeRun });
    } catch (error) {
      replace(message, h('span', { class: 'error', role: 'alert' }, errorText(error)));
    }
  }

  datasetSelect.addEventListener('change', renderDataset);
  modelSelect.addEventListener('change', renderModel);
  startButton.addEventListener('click', () => void start());
  cancelButton.addEventListener('click', () => void cancel());
  fileInput.addEventListener('change', () => {
    const file = fileInput.files?.[0];
    if (file) void uploadFile(file);
  });
  drop.addEventListener('dragover', (event) => {
    event.preventDefault();
    drop.classList.add('over');
  });
  drop.addEventListener('dragleave', () => {
    drop.classList.remove('over');
  });
  drop.addEventListener('drop', (event) => {
    event.preventDefault();
    drop.classList.remove('over');
    const file = event.dataTransfer?.files[0];
    if (file) void uploadFile(file);
  });

  const element = card(
    'train',
    'Train a model',
    h(
      'div',
      { class: 'grid' },
      h(
        'div',
        {},
        h(
          'div',
          { class: 'row' },
          h('label', { for: 'dataset' }, 'Dataset', datasetSelect),
          h('label', { for: 'task' }, 'Task', taskSelect),
        ),
        h('p', { class: 'help' }, 'Class balance of the labelled rows:'),
        balance,
        drop,
        uploadMessage,
      ),
      h('div', {}, h('label', { for: 'model' }, 'Model', modelSelect), modelHelp),
    ),
    h('fieldset', {}, h('legend', {}, 'Hyperparameters'), params),
    h('fieldset', {}, h('legend', {}, 'Features (physics measurements; the defaults are checked)'), features),
    h(
      'fieldset',
      {},
      h('legend', { class: 'leak' }, 'Vetting columns: leakage, off by default'),
      h(
        'p',
        { class: 'help' },
        'These columns come from the vetting that produced the label (scores and false-positive flags): a model that uses them learns the answer key, not the physics. Tick one only to see how much they leak; the run is marked.',
      ),
      leakage,
    ),
    h('div', { class: 'row' }, startButton, cancelButton),
    message,
  );
  refresh('kepler');
  modelSelect.value = ctx.catalog.models.some((m) => m.id === 'random_forest') ? 'random_forest' : modelSelect.value;
  renderModel();

  return {
    element,
    refresh,
    setActiveRun(runId) {
      activeRun = runId;
      cancelButton.disabled = runId === null;
      startButton.disabled = runId !== null;
    },
  };
}
