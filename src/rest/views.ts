/**
 * GraphQL answers in the original API's words: the session and its stepper, uploads as `file_info`, training
 * progress and the trained model's `model_info`. Pure mappings of the typed operation results.
 */
import type { RunProgress, SearchProgress, SessionState, TrainedRun, UploadedFile } from './operations/index.js';
import { classWords, originalModelValue, trainingStatusWords } from './original.js';

type RunStatus = RunProgress['status'];

/** An upload in the original's `file_info` words; `dataset_id` replaces its server path. */
export function fileInfo(file: UploadedFile) {
  return {
    dataset_id: file.id,
    original_name: file.originalFileName ?? file.name,
    saved_name: file.id,
    size: file.sizeBytes,
    uploaded_at: file.createdAt,
    num_rows: file.rowCount,
    num_columns: file.columns.length,
    columns: file.columns.map((c) => c.name),
  };
}

const SESSION_STATUS_WORDS: Record<RunStatus, string> = {
  QUEUED: 'training',
  RUNNING: 'training',
  SUCCEEDED: 'trained',
  FAILED: 'error',
  CANCELLED: 'cancelled',
};

function sessionStatusWords(session: SessionState): string {
  const run = session.latestRun;
  if (!run)
    return session.workflow.stepProgress.step1Complete || session.workflow.stepProgress.step2Complete
      ? 'configured'
      : 'initialized';
  return SESSION_STATUS_WORDS[run.status];
}

function stepProgressView(session: SessionState) {
  const { stepProgress } = session.workflow;
  return {
    step1_complete: stepProgress.step1Complete,
    step2_complete: stepProgress.step2Complete,
    step3_complete: stepProgress.step3Complete,
  };
}

/** The session in the original API's words: the stepper's fields and `session_info`, as its web client reads them. */
export function stepperView(session: SessionState) {
  const { workflow } = session;
  const dataSource = workflow.dataSource ? workflow.dataSource.toLowerCase() : null;
  return {
    session_id: session.id,
    current_step: workflow.currentStep,
    max_step: workflow.maxStep,
    is_training_ready: workflow.trainingReady,
    step_progress: stepProgressView(session),
    session_info: {
      created_at: session.createdAt,
      updated_at: session.updatedAt,
      status: sessionStatusWords(session),
      current_step: workflow.currentStep,
      data_source: dataSource,
      selected_dataset: session.datasetId ?? '',
      selected_model: originalModelValue(session.modelType),
      model_type: session.modelType,
      uploaded_file_info: workflow.uploadedDataset ? fileInfo(workflow.uploadedDataset) : null,
      hyperparameters: session.hyperparameters,
      preprocessing_config: workflow.preprocessingConfig ?? {},
      test_dataset: workflow.testDatasetId,
      step_progress: stepProgressView(session),
    },
  };
}

/** The session in the original API's snake_case words. */
export function sessionView(session: SessionState) {
  return {
    session_id: session.id,
    data_source: session.workflow.dataSource ? session.workflow.dataSource.toLowerCase() : null,
    dataset: session.datasetId,
    dataset_name: session.dataset?.name ?? null,
    model_type: session.modelType,
    hyperparameters: session.hyperparameters,
    features: session.features,
    task: session.task,
    split: session.split,
    seed: session.seed,
    use_vetting_features: session.useVettingFeatures,
    ready_to_train: session.ready,
    missing: session.missing,
    // Seconds each run may train (max_training_seconds of the form, else the server's limit), and what to know
    // before training, e.g. an estimated training time past it.
    max_training_seconds: session.maxTrainingSeconds,
    warnings: session.warnings,
    latest_run: session.latestRun
      ? {
          run_id: session.latestRun.id,
          status: session.latestRun.status,
          stage: session.latestRun.stage,
          progress: Math.round(session.latestRun.progress * 100),
        }
      : null,
    created_at: session.createdAt,
    updated_at: session.updatedAt,
  };
}

/** 0–100 with one decimal; 100 only once the run has SUCCEEDED (the clients move on at 100, the model is stored last). */
export function progressPercent(run: { status: RunStatus; progress: number }): number {
  const percent = Math.round(run.progress * 1000) / 10;
  return run.status === 'SUCCEEDED' ? percent : Math.min(percent, 99.9);
}

/** The session's training in `training_info` words. */
export function trainingInfo(session: SessionState) {
  const run = session.latestRun;
  return run
    ? {
        run_id: run.id,
        status: run.status,
        training_status: trainingStatusWords(run.status),
        stage: run.stage,
        progress: progressPercent(run),
        message: run.message,
      }
    : {
        run_id: null,
        status: 'NOT_STARTED',
        training_status: trainingStatusWords('NOT_STARTED'),
        stage: null,
        progress: 0,
        message: null,
      };
}

export function progressView(sessionId: string, run: RunProgress) {
  return {
    session_id: sessionId,
    run_id: run.id,
    status: run.status,
    training_status: trainingStatusWords(run.status),
    stage: run.stage,
    progress: progressPercent(run),
    step: run.step,
    total_steps: run.totalSteps,
    message: run.message,
    queue_position: run.queuePosition,
    error: run.error,
    model_type: run.modelType,
    dataset: run.datasetId,
    created_at: run.createdAt,
    started_at: run.startedAt,
    finished_at: run.finishedAt,
    fit_seconds: run.timings?.fitSeconds ?? null,
    total_seconds: run.timings?.totalSeconds ?? null,
  };
}

/** Trials a search will run when it has a count (successive halving: every rung's), else null (a time budget). */
function expectedTrials(search: SearchProgress): number | null {
  if (search.strategy === 'RANDOM') return search.maxTrials ?? null;
  const n = search.maxTrials ?? 27;
  return n + Math.ceil(n / 3) + Math.ceil(n / 9);
}

/** A search's progress in the words of progressView (steps are trials), with its leaderboard. */
export function searchProgressView(sessionId: string, search: SearchProgress) {
  const done = search.trials.filter((t) => t.status !== 'RUNNING').length;
  const expected = expectedTrials(search);
  const elapsed = search.startedAt ? (Date.now() - Date.parse(search.startedAt)) / 1000 : 0;
  const share = expected ? done / expected : elapsed / search.budgetSeconds;
  const trial = (t: SearchProgress['leaderboard'][number]) => ({
    trial: t.trial,
    model_type: t.modelType,
    rung: t.rung,
    score: t.score,
    sd: t.sd,
    fit_seconds: t.fitSeconds,
    params: t.params,
  });
  return {
    session_id: sessionId,
    kind: 'search',
    search_id: search.id,
    run_id: search.bestRun?.id ?? null,
    status: search.status,
    training_status: trainingStatusWords(search.status),
    stage: search.status === 'RUNNING' ? 'SEARCHING' : search.status === 'QUEUED' ? 'QUEUED' : 'DONE',
    // 100 only once the best trial's run exists (GET /training then follows that run).
    progress: search.status === 'SUCCEEDED' ? 100 : Math.min(99.9, Math.round(share * 1000) / 10),
    step: done,
    total_steps: expected ?? 0,
    message: search.message,
    queue_position: search.queuePosition,
    error: search.error,
    strategy: search.strategy,
    scoring: search.scoring,
    model_types: search.modelTypes,
    cv_folds: search.cvFolds,
    budget_seconds: search.budgetSeconds,
    seed: search.seed,
    best: search.leaderboard[0] ? trial(search.leaderboard[0]) : null,
    leaderboard: search.leaderboard.map(trial),
    best_run: search.bestRun ? { run_id: search.bestRun.id, status: search.bestRun.status } : null,
    created_at: search.createdAt,
    started_at: search.startedAt,
    finished_at: search.finishedAt,
  };
}

/** The trained model in the original's `model_info` words. */
export function modelInfo(run: TrainedRun) {
  const metrics = trainedMetrics(run);
  return {
    run_id: run.id,
    model_type: run.modelType,
    model_name: originalModelValue(run.modelType),
    dataset: run.datasetId,
    hyperparameters: run.hyperparameters,
    classes: metrics.classes.map(classWords),
    feature_count: (run.features ?? []).length,
    features: run.features,
    train_size: run.splitCounts?.train ?? null,
    test_size: run.splitCounts?.test ?? null,
    accuracy: metrics.accuracy,
    macro_f1: metrics.macroF1,
    trained_at: run.finishedAt,
  };
}

/** A SUCCEEDED run always has metrics (they are stored with its model). */
export function trainedMetrics<M>(run: { id: string; metrics: M | null }): M {
  if (!run.metrics) throw new Error(`Run ${run.id} succeeded without metrics.`);
  return run.metrics;
}
