/**
 * Sessions: one user's workflow (dataset, model config, runs, and the original web client's stepper). Owns the
 * `sessions` table.
 */
import { and, eq, gte, inArray, isNotNull, lt, or } from 'drizzle-orm';
import type { SessionRow } from '../db/schema.js';
import type { Store } from '../db/store.js';
import type { SplitSizes, Task } from '../domain/data.js';
import { badInput, notFound } from '../domain/errors.js';
import { checkJsonShape } from '../domain/json.js';
import {
  MAX_CV_FOLDS,
  MIN_CV_FOLDS,
  missingForTraining,
  DEFAULT_SELECTION,
  selectionProblem,
  type RunConfig,
  type SelectionOptions,
} from '../domain/run.js';
import type { CalibrateOn, CalibrationMethod, DecisionTuning, RefitMode } from '../ml/pipeline.js';
import type { DataSourceChoice, JsonObject, StepperProgress } from '../domain/session.js';
import { MODEL_CATALOG, resolveModelType, toCatalogNames, validateHyperparameters } from '../ml/catalog.js';
import { groupedStratifiedSplit } from '../ml/data/index.js';
import { taskTable } from '../ml/pipeline.js';
import type { Hyperparameters, ModelTypeId } from '../ml/types.js';
import { resolveModel } from '../ml/cost.js';
import type { DatasetService } from './datasets.js';
import { newId } from './ids.js';
import {
  checkBudget,
  checkMaxTrainingSeconds,
  runBudget,
  type BudgetCheck,
  type RunBudget,
} from './training/budget.js';
import { canUse, type Caller, type Owned, type OwnerService } from './owners.js';

export interface SessionConfig {
  datasetId: string | null;
  modelType: ModelTypeId | null;
  hyperparameters: Hyperparameters;
  features: string[] | null;
  task: Task;
  split: SplitSizes;
  seed: number;
  useVettingFeatures: boolean;
  /** Cross-validation, calibration, refit and cross-mission evaluation of the runs (issue 14). */
  selection: SelectionOptions;
}

/** The original web client's three-step workflow, kept with the session. */
export interface Workflow {
  currentStep: number;
  stepProgress: StepperProgress;
  /** Chosen explicitly; null = the kind of the chosen dataset. */
  dataSource: DataSourceChoice | null;
  preprocessingConfig: JsonObject | null;
  /** What the session's results predict; null = the held-out test split of the trained run. */
  testDatasetId: string | null;
}

export interface SessionRecord extends SessionConfig {
  id: string;
  workflow: Workflow;
  createdAt: Date;
  updatedAt: Date;
}

export interface ConfigureSessionInput {
  sessionId: string;
  datasetId?: string | null;
  modelType?: string | null;
  hyperparameters?: unknown;
  features?: string[] | null;
  task?: Task | null;
  split?: SplitSizes | null;
  seed?: number | null;
  useVettingFeatures?: boolean | null;
  /** `user` without datasetId: an upload is still to come (the session then has no dataset). */
  dataSource?: DataSourceChoice | null;
  preprocessingConfig?: unknown;
  /** What the results predict: a dataset id, or datasetId null for the held-out test split. */
  testData?: { datasetId?: string | null } | null;
  /** null or 0 turns cross-validation off (undefined: unchanged). */
  cvFolds?: number | null;
  /** null turns calibration off (undefined: unchanged). */
  calibration?: CalibrationMethod | null;
  calibrateOn?: CalibrateOn | null;
  refit?: RefitMode | null;
  /** null turns cross-mission evaluation off (undefined: unchanged). */
  crossMissionDatasetId?: string | null;
  /** Seconds a run may train, 1..MAX_TRAINING_SECONDS; null: MAX_TRAINING_SECONDS (undefined: unchanged). */
  maxTrainingSeconds?: number | null;
  decisionTuning?: DecisionTuning | null;
}

/** The run a session's results come from: what its test data needs to know. */
export interface TrainedRunRef {
  id: string;
  datasetId: string;
  /** The run's config snapshot (task, split, seed). */
  config: Pick<RunConfig, 'task' | 'split' | 'seed'>;
  /** The model's features: test rows carry these columns and the id columns. */
  features: string[];
}

export interface TestRow {
  /** Position in the test data. */
  index: number;
  ids: Record<string, string>;
  values: Record<string, string | null>;
  /** The true class, when the data is labelled. */
  actual: string | null;
}

export interface TestData {
  kind: 'HELD_OUT' | 'DATASET';
  datasetId: string;
  runId: string;
  rowCount: number;
  rows: TestRow[];
}

export const DEFAULT_DATASET = 'kepler';
export const DEFAULT_MODEL: ModelTypeId = 'random_forest';
export const DEFAULT_SPLIT: SplitSizes = { train: 0.7, validation: 0.1, test: 0.2 };
export const DEFAULT_SEED = 42;
/** The stepper's last step (hyperparameters), where training can start. */
export const MAX_STEP = 3;

function toRecord(row: SessionRow): SessionRecord {
  return {
    id: row.id,
    datasetId: row.datasetId,
    modelType: row.modelType,
    hyperparameters: row.hyperparameters,
    features: row.features ?? null,
    task: row.task,
    split: { train: row.trainShare, validation: row.validationShare, test: row.testShare },
    seed: row.seed,
    useVettingFeatures: row.useVettingFeatures,
    selection: row.selection ?? DEFAULT_SELECTION,
    workflow: {
      currentStep: row.currentStep,
      stepProgress: row.stepProgress ?? { step1: false, step2: false, step3: false },
      dataSource: row.dataSource,
      preprocessingConfig: row.preprocessingConfig ?? null,
      testDatasetId: row.testDatasetId,
    },
    createdAt: row.createdAt,
    updatedAt: row.updatedAt,
  };
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export function validateSplit(split: SplitSizes): SplitSizes {
  const { train, validation, test } = split;
  for (const [name, value] of Object.entries(split)) {
    if (!Number.isFinite(value) || value < 0 || value >= 1) {
      throw badInput(
        `split.${name} must be a share from 0 to below 1, got ${value}.`,
        `split.${name}`,
        'a number in [0, 1)',
      );
    }
  }
  if (train < 0.3)
    throw badInput(`split.train must be at least 0.3, got ${train}.`, 'split.train', 'a number from 0.3');
  if (test < 0.05)
    throw badInput(
      `split.test must be at least 0.05 so metrics mean something, got ${test}.`,
      'split.test',
      'a number from 0.05',
    );
  const sum = train + validation + test;
  if (Math.abs(sum - 1) > 1e-6) {
    throw badInput(
      `split.train + split.validation + split.test must be 1, got ${Number(sum.toFixed(6))}.`,
      'split',
      'shares summing to 1',
    );
  }
  return { train, validation, test };
}

/** What one idle sweep removed. */
export interface SweepResult {
  sessions: number;
  uploads: number;
}

/** Sessions one sweep looks at (the next sweep takes the rest). */
const SWEEP_BATCH = 500;

export class SessionService {
  constructor(
    private readonly store: Store,
    private readonly datasets: DatasetService,
    private readonly owners: OwnerService,
    /** MAX_TRAINING_SECONDS: the most a session's maxTrainingSeconds may be. */
    private readonly options: { maxTrainingMs: number },
  ) {}

  /** A new session, ready to train with defaults: the Kepler table and a random forest; the stepper at step 1. */
  async create(caller: Caller): Promise<SessionRecord> {
    const owner = this.owners.claim(caller, 'session');
    const now = new Date();
    const row: SessionRow = {
      id: newId('ses'),
      datasetId: DEFAULT_DATASET,
      modelType: DEFAULT_MODEL,
      hyperparameters: validateHyperparameters(DEFAULT_MODEL, undefined),
      features: null,
      task: 'THREE_CLASS',
      trainShare: DEFAULT_SPLIT.train,
      validationShare: DEFAULT_SPLIT.validation,
      testShare: DEFAULT_SPLIT.test,
      seed: DEFAULT_SEED,
      useVettingFeatures: false,
      currentStep: 1,
      stepProgress: null,
      dataSource: null,
      preprocessingConfig: null,
      testDatasetId: null,
      selection: null,
      createdAt: now,
      updatedAt: now,
      ...owner,
    };
    await this.store.insert('sessions', row);
    return toRecord(row);
  }

  /** The session when the caller may use it (owners.ts `canUse`), else null, as for an id that does not exist. */
  async get(caller: Caller, id: string): Promise<SessionRecord | null> {
    const row = await this.store.first('sessions', { where: eq(this.store.t.sessions.id, id) });
    return row && canUse(caller, row) ? toRecord(row) : null;
  }

  /** The one check of every read or write of a session (and, through ownerOf, of its runs and predictions). */
  async require(caller: Caller, id: string): Promise<SessionRecord> {
    const session = await this.get(caller, id);
    if (!session) throw notFound('Session', id);
    return session;
  }

  /** The owner columns of a session (its runs and predictions inherit them), or null when it does not exist. */
  ownerOf(id: string): Promise<Owned | null> {
    return this.store.first('sessions', {
      columns: ['ownerId', 'sharedById'],
      where: eq(this.store.t.sessions.id, id),
    });
  }

  count(): Promise<number> {
    return this.store.count('sessions');
  }

  /**
   * Partial update: fields left out keep their value. A new model type resets hyperparameters to its defaults.
   * Choosing data, a model or hyperparameters marks the stepper's step 1, 2 or 3 complete.
   */
  async configure(caller: Caller, input: ConfigureSessionInput): Promise<SessionRecord> {
    const current = await this.require(caller, input.sessionId);
    const next: SessionConfig = { ...current };
    const workflow: Workflow = { ...current.workflow, stepProgress: { ...current.workflow.stepProgress } };
    const given = (value: unknown) => value !== undefined && value !== null;

    if (given(input.datasetId) || given(input.dataSource)) {
      let datasetId = current.datasetId;
      if (input.datasetId !== undefined && input.datasetId !== null) {
        const dataset = await this.datasets.requireAvailable(input.datasetId, 'datasetId', caller);
        const kind: DataSourceChoice = dataset.kind === 'NASA' ? 'nasa' : 'user';
        if (input.dataSource && input.dataSource !== kind) {
          throw badInput(
            kind === 'nasa'
              ? `Dataset "${input.datasetId}" is a NASA table; a user data source needs an uploaded dataset.`
              : `Dataset "${input.datasetId}" is an upload; a NASA data source needs kepler, k2 or tess.`,
            'datasetId',
          );
        }
        datasetId = input.datasetId;
        workflow.dataSource = kind;
      } else if (input.dataSource) {
        // A data source without a dataset keeps the current dataset when it is of that kind.
        const source = input.dataSource;
        const currentKind = current.datasetId ? (await this.datasets.get(current.datasetId))?.kind : undefined;
        if (source === 'nasa') datasetId = currentKind === 'NASA' ? current.datasetId : DEFAULT_DATASET;
        else datasetId = currentKind === 'UPLOAD' ? current.datasetId : null;
        workflow.dataSource = source;
      }
      if (datasetId !== current.datasetId && input.features === undefined) next.features = null;
      next.datasetId = datasetId;
      workflow.stepProgress.step1 = datasetId !== null;
    }
    if (input.modelType !== undefined && input.modelType !== null) {
      const resolved = resolveModelType(input.modelType);
      if (!resolved) {
        const allowed = MODEL_CATALOG.map((spec) => spec.id);
        throw badInput(
          `Unknown model type "${input.modelType}". Choose one of: ${allowed.join(', ')}.`,
          'modelType',
          allowed,
        );
      }
      if (resolved !== current.modelType) next.hyperparameters = validateHyperparameters(resolved, undefined);
      next.modelType = resolved;
      workflow.stepProgress.step2 = true;
    }
    if (input.hyperparameters !== undefined && input.hyperparameters !== null) {
      if (!next.modelType) throw badInput('Choose a model type before setting hyperparameters.', 'modelType');
      const given = input.hyperparameters;
      // The form's scikit-learn names become the catalog's before merging over the stored (catalog) values.
      const merged = isPlainObject(given)
        ? { ...next.hyperparameters, ...toCatalogNames(next.modelType, given) }
        : given;
      next.hyperparameters = validateHyperparameters(next.modelType, merged);
      workflow.stepProgress.step3 = true;
    }
    if (input.preprocessingConfig !== undefined && input.preprocessingConfig !== null) {
      if (!isPlainObject(input.preprocessingConfig))
        throw badInput('preprocessingConfig must be an object.', 'preprocessingConfig', 'an object');
      checkJsonShape(input.preprocessingConfig, 'preprocessingConfig');
      workflow.preprocessingConfig = input.preprocessingConfig;
      workflow.stepProgress.step3 = true;
    }
    if (input.testData !== undefined && input.testData !== null) {
      const testId = input.testData.datasetId ?? null;
      if (testId !== null) await this.datasets.requireAvailable(testId, 'testData.datasetId', caller);
      workflow.testDatasetId = testId;
    }
    if (input.task !== undefined && input.task !== null) next.task = input.task;
    if (input.split !== undefined && input.split !== null) next.split = validateSplit(input.split);
    if (input.seed !== undefined && input.seed !== null) {
      if (!Number.isSafeInteger(input.seed) || input.seed < 0 || input.seed > 2 ** 31 - 1) {
        throw badInput(
          `seed must be a whole number from 0 to 2147483647, got ${input.seed}.`,
          'seed',
          'an integer in [0, 2147483647]',
        );
      }
      next.seed = input.seed;
    }
    if (input.useVettingFeatures !== undefined && input.useVettingFeatures !== null)
      next.useVettingFeatures = input.useVettingFeatures;
    if (input.features !== undefined)
      next.features = input.features === null || input.features.length === 0 ? null : [...input.features];
    next.selection = await this.configuredSelection(current.selection, input, caller);
    await this.checkSelection(next);
    // A configuration estimated at many times its time budget is refused now, not when it is started (a warning
    // below that is Session.warnings). Only when the input changes what the estimate reads: a session left over its
    // budget by a lowered MAX_TRAINING_SECONDS can still be edited, and start refuses it.
    const costInputs = [
      input.datasetId,
      input.modelType,
      input.hyperparameters,
      input.features,
      input.useVettingFeatures,
      input.task,
      input.split,
      input.cvFolds,
      input.refit,
      input.maxTrainingSeconds,
    ];
    if (costInputs.some((value) => value !== undefined)) {
      const refusal = (await this.budgetCheck(next))?.refusal;
      if (refusal) throw badInput(refusal, input.maxTrainingSeconds != null ? 'maxTrainingSeconds' : 'hyperparameters');
    }

    if (next.datasetId && (next.features !== null || next.useVettingFeatures !== current.useVettingFeatures)) {
      await this.datasets.resolveFeatures(next.datasetId, {
        features: next.features,
        useVettingFeatures: next.useVettingFeatures,
      });
    }
    // The current step never stays beyond what the new configuration allows.
    workflow.currentStep = Math.min(workflow.currentStep, this.maxStep({ datasetId: next.datasetId, workflow }));

    const updatedAt = new Date();
    await this.store.update(
      'sessions',
      {
        datasetId: next.datasetId,
        modelType: next.modelType,
        hyperparameters: next.hyperparameters,
        features: next.features,
        task: next.task,
        trainShare: next.split.train,
        validationShare: next.split.validation,
        testShare: next.split.test,
        seed: next.seed,
        useVettingFeatures: next.useVettingFeatures,
        currentStep: workflow.currentStep,
        stepProgress: workflow.stepProgress,
        dataSource: workflow.dataSource,
        preprocessingConfig: workflow.preprocessingConfig,
        testDatasetId: workflow.testDatasetId,
        selection: next.selection,
        updatedAt,
      },
      eq(this.store.t.sessions.id, current.id),
    );
    return { ...next, workflow, id: current.id, createdAt: current.createdAt, updatedAt };
  }

  /** The session's model-selection options with the input's changes (each checked on its own). */
  private async configuredSelection(
    current: SelectionOptions,
    input: ConfigureSessionInput,
    caller: Caller,
  ): Promise<SelectionOptions> {
    const next = { ...current };
    if (input.cvFolds !== undefined) {
      const folds = input.cvFolds ?? 0;
      if (folds !== 0 && (!Number.isInteger(folds) || folds < MIN_CV_FOLDS || folds > MAX_CV_FOLDS))
        throw badInput(
          `cvFolds must be a whole number from ${MIN_CV_FOLDS} to ${MAX_CV_FOLDS} (or 0 for none), got ${folds}.`,
          'cvFolds',
          `0 or an integer in [${MIN_CV_FOLDS}, ${MAX_CV_FOLDS}]`,
        );
      next.cvFolds = folds === 0 ? null : folds;
    }
    if (input.calibration !== undefined) next.calibration = input.calibration;
    if (input.calibrateOn !== undefined && input.calibrateOn !== null) next.calibrateOn = input.calibrateOn;
    if (input.refit !== undefined && input.refit !== null) next.refit = input.refit;
    if (input.decisionTuning !== undefined) next.decisionTuning = input.decisionTuning ?? 'NONE';
    if (input.maxTrainingSeconds !== undefined)
      next.maxTrainingSeconds =
        input.maxTrainingSeconds === null
          ? null
          : checkMaxTrainingSeconds(input.maxTrainingSeconds, this.options.maxTrainingMs);
    if (input.crossMissionDatasetId !== undefined) {
      const id = input.crossMissionDatasetId;
      if (id !== null) {
        const dataset = await this.datasets.requireAvailable(id, 'crossMissionDatasetId', caller);
        if (dataset.kind !== 'NASA')
          throw badInput(
            `Cross-mission evaluation is on NASA mission tables (kepler, k2, tess); "${id}" is an upload.`,
            'crossMissionDatasetId',
          );
      }
      next.crossMission = id;
    }
    return next;
  }

  /** The time budget of the session's runs: its maxTrainingSeconds, never above MAX_TRAINING_SECONDS. */
  timeBudget(maxTrainingSeconds: number | null | undefined): RunBudget {
    return runBudget(maxTrainingSeconds, this.options.maxTrainingMs);
  }

  /**
   * The configuration's estimated training time against its budget, from counts known without reading the data
   * (the snapshot's manifest, an upload's stored summary): null when the model or dataset is not chosen or the counts
   * are not known (a start checks on the real split). Rows are the labelled rows × the train share.
   */
  async budgetCheck(config: SessionConfig): Promise<BudgetCheck | null> {
    if (!config.datasetId || !config.modelType) return null;
    const shape = await this.datasets.knownShape(config.datasetId);
    if (!shape) return null;
    const features =
      config.features?.length ?? shape.defaultFeatures + (config.useVettingFeatures ? shape.vettingFeatures : 0);
    return checkBudget(
      resolveModel(config.modelType, config.hyperparameters),
      {
        rows: Math.round(shape.rows * config.split.train),
        features,
        classes: config.task === 'BINARY' ? 2 : shape.classes,
      },
      config.selection,
      this.timeBudget(config.selection.maxTrainingSeconds),
    );
  }

  /** What the session's configuration should know before it trains (Session.warnings). */
  async warnings(config: SessionConfig): Promise<string[]> {
    const check = await this.budgetCheck(config);
    return [check?.refusal ?? check?.warning].filter((message) => message !== undefined && message !== null);
  }

  /** Refuses options that cannot train with the session's data and split (checked again when a run starts). */
  async checkSelection(config: Pick<SessionConfig, 'selection' | 'split' | 'datasetId'>): Promise<void> {
    const dataset = config.datasetId ? await this.datasets.get(config.datasetId) : null;
    const problem = selectionProblem(config.selection, {
      validationShare: config.split.validation,
      datasetId: config.datasetId,
      datasetIsNasa: dataset?.kind === 'NASA',
    });
    if (problem) throw badInput(problem.message, problem.field);
  }

  // ----------------------------------------------------------------------------------------------------------
  // The original web client's stepper: 1 data → 2 model → 3 hyperparameters.

  /** The data source in effect: the chosen one, else the kind of the chosen dataset. */
  async dataSourceOf(session: Pick<SessionRecord, 'datasetId' | 'workflow'>): Promise<DataSourceChoice | null> {
    if (session.workflow.dataSource) return session.workflow.dataSource;
    if (!session.datasetId) return null;
    return (await this.datasets.get(session.datasetId))?.kind === 'UPLOAD' ? 'user' : 'nasa';
  }

  /** 3 once data is chosen (a NASA table or an attached upload), 2 with only a data source, else 1. */
  maxStep(session: Pick<SessionRecord, 'datasetId' | 'workflow'>): number {
    if (session.datasetId) return MAX_STEP;
    return session.workflow.dataSource ? 2 : 1;
  }

  /** The stepper's view: a model is chosen, the data is configured, and the user reached the last step. */
  trainingReady(session: SessionRecord): boolean {
    return missingForTraining(session).length === 0 && session.workflow.currentStep === MAX_STEP;
  }

  /** One step forward while below the last step the configuration allows (else unchanged). */
  async nextStep(caller: Caller, id: string): Promise<SessionRecord> {
    const session = await this.require(caller, id);
    if (session.workflow.currentStep >= this.maxStep(session)) return session;
    return this.saveStep(session, session.workflow.currentStep + 1);
  }

  /** Go to `step`: from 1 to the last step the configuration allows. */
  async setStep(caller: Caller, id: string, step: number): Promise<SessionRecord> {
    const session = await this.require(caller, id);
    const max = this.maxStep(session);
    if (!Number.isInteger(step) || step < 1 || step > max) {
      throw badInput(
        `step must be a whole number from 1 to ${max} (the last step this session's configuration allows), got ${step}.`,
        'step',
        `an integer from 1 to ${max}`,
      );
    }
    return this.saveStep(session, step);
  }

  private async saveStep(session: SessionRecord, step: number): Promise<SessionRecord> {
    const updatedAt = new Date();
    await this.store.update('sessions', { currentStep: step, updatedAt }, eq(this.store.t.sessions.id, session.id));
    return { ...session, workflow: { ...session.workflow, currentStep: step }, updatedAt };
  }

  /**
   * The rows the session's results predict with `run`: its configured test dataset, or by default (and when that
   * is the table the run trained on) the run's held-out test split: the run's task, shares and seed on the same table
   * give the same rows. Each row carries the model's features, the id columns and, when labelled, the true class;
   * `limit` rows from `offset`.
   */
  async testData(session: SessionRecord, run: TrainedRunRef, offset = 0, limit = 1000): Promise<TestData> {
    // Testing on the table the model trained on means its held-out split: the rest of it was seen in training.
    const { testDatasetId } = session.workflow;
    const heldOut = testDatasetId === null || testDatasetId === run.datasetId;
    const datasetId = heldOut ? run.datasetId : testDatasetId;
    const loaded = await this.datasets.labeledTable(datasetId);
    const { task, split, seed } = run.config;
    const data = heldOut ? taskTable(loaded, task) : loaded;
    const indices: ArrayLike<number> = heldOut
      ? groupedStratifiedSplit(data.labels, data.groups, data.classes.length, split, seed).test
      : Int32Array.from({ length: data.table.rowCount }, (_, i) => i);
    const { columns } = data.table;
    const wanted = [...new Set([...data.idColumns, ...run.features])].filter((c) => columns.includes(c));
    const positions = wanted.map((c) => columns.indexOf(c));
    const idPositions = data.idColumns.map((c) => columns.indexOf(c));
    const rows: TestRow[] = [];
    const start = Math.max(0, offset);
    const end = Math.min(indices.length, start + Math.max(0, limit));
    for (let k = start; k < end; k++) {
      const i = indices[k];
      const raw = data.table.row(i);
      const values: Record<string, string | null> = {};
      wanted.forEach((column, j) => (values[column] = raw[positions[j]] === '' ? null : raw[positions[j]]));
      const ids: Record<string, string> = {};
      data.idColumns.forEach((column, j) => (ids[column] = raw[idPositions[j]]));
      const label = data.labels[i];
      rows.push({
        index: k,
        ids,
        values,
        actual: label >= 0 && label < data.classes.length ? data.classes[label] : null,
      });
    }
    return { kind: heldOut ? 'HELD_OUT' : 'DATASET', datasetId, runId: run.id, rowCount: indices.length, rows };
  }

  private readonly deleteHooks: ((sessionId: string) => Promise<void>)[] = [];

  /** Called before a session is deleted (the training service stops its runs and frees their models). */
  onDelete(hook: (sessionId: string) => Promise<void>): void {
    this.deleteHooks.push(hook);
  }

  /** Deletes the session; its runs, models and predictions go with it (foreign keys cascade). */
  async delete(caller: Caller, id: string): Promise<boolean> {
    if (!(await this.get(caller, id))) return false;
    return this.remove(id);
  }

  private async remove(id: string): Promise<boolean> {
    for (const hook of this.deleteHooks) await hook(id);
    // Idempotent: another process sweeping at the same time may have deleted it already.
    return (await this.store.delete('sessions', eq(this.store.t.sessions.id, id))) > 0;
  }

  /**
   * Expiry (SESSION_IDLE_HOURS): deletes the sessions unchanged since before `now - idleMs` that have no run started
   * or finished since then and none waiting or training, with their runs, models, predictions and progress events;
   * then the uploads they leave unused (DatasetService.sweepUnused). Safe to run in several processes at once.
   */
  async sweepIdle(idleMs: number, now = new Date()): Promise<SweepResult> {
    if (idleMs <= 0) return { sessions: 0, uploads: 0 };
    const cutoff = new Date(now.getTime() - idleMs);
    const { sessions, trainingRuns: runs } = this.store.t;
    const idle = await this.store.select('sessions', {
      columns: ['id', 'ownerId', 'datasetId', 'testDatasetId'],
      where: lt(sessions.updatedAt, cutoff),
      limit: SWEEP_BATCH,
    });
    if (idle.length === 0) return { sessions: 0, uploads: 0 };
    const busy = await this.store.select('trainingRuns', {
      columns: ['sessionId'],
      where: and(
        inArray(
          runs.sessionId,
          idle.map((s) => s.id),
        ),
        or(
          inArray(runs.status, ['QUEUED', 'RUNNING']),
          gte(runs.createdAt, cutoff),
          and(isNotNull(runs.finishedAt), gte(runs.finishedAt, cutoff)),
        ),
      ),
    });
    const keep = new Set(busy.map((run) => run.sessionId));
    let removed = 0;
    const swept = idle.filter((s) => !keep.has(s.id));
    for (const session of swept) if (await this.remove(session.id)) removed++;
    const uploads = await this.datasets.sweepUnused(
      cutoff,
      swept.flatMap((s) => [s.datasetId, s.testDatasetId]).filter((id): id is string => id !== null),
    );
    return { sessions: removed, uploads };
  }
}
