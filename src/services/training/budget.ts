/**
 * A run's time budget (issue 12 item 7): MAX_TRAINING_SECONDS for every run, or a session's own
 * `maxTrainingSeconds` below it. The one home of what is checked against it and of what is said: the estimate
 * check at configure and at start, the refusal of a budget above the server's, the message of a run stopped.
 */
import { badInput } from '../../domain/errors.js';
import { describeSeconds, estimateFitCost, type FitShape, type ResolvedModel } from '../../ml/cost.js';

/** A configuration estimated past this multiple of its budget is refused (below it, it warns): see src/ml/cost.ts. */
export const REFUSE_AT_BUDGET_MULTIPLE = 4;

export interface RunBudget {
  /** What the run may take: the session's maxTrainingSeconds when set, never more than the server allows. */
  seconds: number;
  /** The session set it (maxTrainingSeconds), else it is MAX_TRAINING_SECONDS. */
  fromSession: boolean;
  /** MAX_TRAINING_SECONDS. */
  serverSeconds: number;
}

/** The budget in effect for a session's (or a run's stored) `maxTrainingSeconds` under the server's limit. */
export function runBudget(maxTrainingSeconds: number | null | undefined, maxTrainingMs: number): RunBudget {
  const serverSeconds = maxTrainingMs / 1000;
  // A run stored under a higher limit (the server's was lowered since) still stops at the server's.
  if (typeof maxTrainingSeconds === 'number' && maxTrainingSeconds > 0 && maxTrainingSeconds < serverSeconds)
    return { seconds: maxTrainingSeconds, fromSession: true, serverSeconds };
  return { seconds: serverSeconds, fromSession: false, serverSeconds };
}

const plainSeconds = (seconds: number) => `${Math.round(seconds).toLocaleString('en-US')} s`;

/** Refuses a per-run budget that is not a whole number of seconds within the server's limit. */
export function checkMaxTrainingSeconds(value: number, maxTrainingMs: number): number {
  const limit = Math.floor(maxTrainingMs / 1000);
  if (!Number.isInteger(value) || value < 1 || value > limit)
    throw badInput(
      `maxTrainingSeconds must be a whole number of seconds from 1 to ${limit.toLocaleString('en-US')} (this server's MAX_TRAINING_SECONDS), got ${value}.`,
      'maxTrainingSeconds',
      `an integer in [1, ${limit}]`,
    );
  return value;
}

/** Where a budget came from, in the words of a message. */
function budgetLimit(budget: RunBudget): string {
  return budget.fromSession
    ? `this session's runs may take at most ${describeSeconds(budget.seconds).replace('about ', '')} (its maxTrainingSeconds)`
    : `training may take at most ${describeSeconds(budget.seconds).replace('about ', '')} (MAX_TRAINING_SECONDS)`;
}

/** What a run that used up its budget says. */
export function budgetStopMessage(budget: RunBudget): string {
  const seconds = plainSeconds(budget.seconds);
  const limit = budget.fromSession
    ? `this run may take at most ${seconds} (maxTrainingSeconds of its session; the server allows ${plainSeconds(budget.serverSeconds)})`
    : `training may take at most MAX_TRAINING_SECONDS = ${seconds}`;
  const raise = budget.fromSession ? 'raise maxTrainingSeconds' : 'ask the operator to raise the limit';
  return `Stopped after ${seconds}: ${limit}. Choose fewer epochs, trees or rounds, a smaller network or fewer rows, or ${raise}.`;
}

export interface BudgetCheck {
  /** Estimated past REFUSE_AT_BUDGET_MULTIPLE × the budget: the message of the refusal. */
  refusal: string | null;
  /** Estimated past the budget but below the refusal: what the run (or the configure answer) warns. */
  warning: string | null;
}

/**
 * The fit's estimated cost against the budget. The estimate is rough (constants measured on one machine), so only a
 * configuration estimated at several times the budget is refused; past the budget itself, it warns.
 */
export function checkBudget(
  model: ResolvedModel,
  shape: FitShape,
  selection: { cvFolds: number | null; refit: string },
  budget: RunBudget,
): BudgetCheck {
  // Cross-validation fits one model per fold, a refit one more.
  const fits = 1 + (selection.cvFolds ?? 0) + (selection.refit === 'NONE' ? 0 : 1);
  const estimate = estimateFitCost(model, shape);
  const seconds = estimate.seconds * fits;
  if (seconds <= budget.seconds) return { refusal: null, warning: null };
  const problem =
    `This configuration would take ${describeSeconds(seconds)} to train (${estimate.drivers}` +
    `${fits > 1 ? `; ${fits} fits with cross-validation and refit` : ''}), and ${budgetLimit(budget)}.`;
  const advice = 'Choose fewer epochs, trees or rounds, a smaller network, a larger batch_size or fewer rows.';
  if (seconds > REFUSE_AT_BUDGET_MULTIPLE * budget.seconds) return { refusal: `${problem} ${advice}`, warning: null };
  return { refusal: null, warning: `${problem} It will likely be stopped there. ${advice}` };
}
