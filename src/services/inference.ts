/**
 * Inference tasks in the worker pool by run id: each thread keeps the predictors it loaded (src/ml/worker.ts), so a
 * call ships the row(s) and the run id only, and the stored artefact (2.3 MB gzipped for a 100-tree Kepler forest)
 * travels once per thread and model, when the thread answers NEED_ARTIFACT.
 *
 * Chosen over pinning run ids to threads: piscina gives a task to whichever thread is free, and the inference pool
 * has one thread, so "ask when missing" costs one extra round trip per thread and model (a cold thread, a model it
 * evicted) and never makes a call wait behind a busy thread that a pin would name.
 */
import type { Piscina } from 'piscina';
import type { RowExplanation } from '../ml/predictor.js';
import type { ExplainTask, ModelAnswer, ModelRef, NeedArtifact, PredictRowsTask, WorkerAnswer } from '../ml/worker.js';
import { conflict } from '../domain/errors.js';
import type { ModelStore } from './models.js';

/** What the client has shipped: tests assert on it, the explain benchmark prints it. */
export interface InferenceStats {
  /** Tasks sent, resends included. */
  tasks: number;
  /** Tasks a thread answered NEED_ARTIFACT. */
  artifactRequests: number;
  /** Gzipped artefact bytes sent to threads. */
  artifactBytes: number;
}

export interface InferenceOptions {
  /**
   * 'onDemand' (default): the artefact goes only to a thread that asks for it. 'always': with every task, the
   * protocol before issue 16 (the explain benchmark's "before").
   */
  shipArtifact?: 'onDemand' | 'always';
}

function isNeedArtifact(answer: unknown): answer is NeedArtifact {
  return typeof answer === 'object' && answer !== null && (answer as Partial<NeedArtifact>).needArtifact === true;
}

export class InferenceClient {
  readonly stats: InferenceStats = { tasks: 0, artifactRequests: 0, artifactBytes: 0 };
  /** See InferenceOptions; settable so the explain benchmark measures both protocols on one server. */
  shipArtifact: 'onDemand' | 'always';

  constructor(
    private readonly pool: Pick<Piscina, 'run'>,
    private readonly models: ModelStore,
    options: InferenceOptions = {},
  ) {
    this.shipArtifact = options.shipArtifact ?? 'onDemand';
  }

  /** Explains one row of a run in a worker thread. */
  async explain(runId: string, row: unknown, label: string | null): Promise<RowExplanation> {
    return this.run(runId, (model): ExplainTask => ({ kind: 'explain', model, row, label }));
  }

  /** Predicts rows of a run in a worker thread (rows as JSON text, predictions back as JSON text). */
  async predictRowsJson(runId: string, rowsJson: string): Promise<string> {
    return this.run(runId, (model): PredictRowsTask => ({ kind: 'predictRows', model, rowsJson }));
  }

  private async run<T>(runId: string, task: (model: ModelRef) => ExplainTask | PredictRowsTask): Promise<T> {
    let artifactGzip = this.shipArtifact === 'always' ? await this.artifact(runId) : undefined;
    for (;;) {
      this.stats.tasks++;
      if (artifactGzip) this.stats.artifactBytes += artifactGzip.byteLength;
      const model: ModelRef = { runId, evictions: this.models.evictions(), artifactGzip };
      const answer = (await this.pool.run(task(model))) as WorkerAnswer;
      if (!isNeedArtifact(answer)) return (answer as ModelAnswer<T>).value;
      // A thread that was just given the artefact always loads it: asked twice means a broken worker.
      if (artifactGzip) throw new Error(`the inference worker asked again for the model of run ${runId}`);
      this.stats.artifactRequests++;
      artifactGzip = await this.artifact(runId);
    }
  }

  private async artifact(runId: string): Promise<Buffer> {
    const bytes = await this.models.bytes(runId);
    if (!bytes) throw conflict(`Training run ${runId} has no stored model.`);
    return bytes;
  }
}
