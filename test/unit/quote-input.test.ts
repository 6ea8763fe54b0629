/**
 * Messages quote at most ~100 characters of user input (issue 12, item 17): one helper, quoteInput, used where a
 * message echoes a value — a hyperparameter, a label column, a REST field.
 */
import { describe, expect, it } from 'vitest';
import { AppError, INPUT_QUOTE_LIMIT, quoteInput } from '../../src/domain/errors.js';
import { validateHyperparameters } from '../../src/ml/catalog/validate.js';
import { customLabeledTable } from '../../src/ml/data/dataset.js';
import { parseCsv } from '../../src/ml/data/csv.js';
import { limitParam } from '../../src/rest/fields.js';
import type { RouteContext } from '../../src/rest/context.js';

const HUGE = 'A'.repeat(10_000);

/** The message of what `run` throws. */
function messageOf(run: () => unknown): string {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(AppError);
    return (error as AppError).message;
  }
  throw new Error('expected an error');
}

/** The message quotes a cut of the value, not the value. */
function expectCut(message: string) {
  expect(message).toContain(`"${'A'.repeat(INPUT_QUOTE_LIMIT)}…"`);
  expect(message).not.toContain('A'.repeat(INPUT_QUOTE_LIMIT + 1));
  expect(message.length).toBeLessThan(1000);
}

describe('quoteInput', () => {
  it('quotes short values whole and cuts long ones at 100 characters with an ellipsis', () => {
    expect(quoteInput('abc')).toBe('"abc"');
    expect(quoteInput(HUGE)).toBe(`"${'A'.repeat(100)}…"`);
    expect(quoteInput([1, 'x'])).toBe('[1,"x"]');
    expect(quoteInput(Array.from({ length: 1000 }, () => 1)).length).toBe(101);
    expect(quoteInput(10n)).toBe('10');
    // Never half of a surrogate pair.
    expect(quoteInput(`${'a'.repeat(99)}🙂🙂`)).toBe(`"${'a'.repeat(99)}…"`);
  });
});

describe('messages that echo user input cut it', () => {
  it('a hyperparameter value and a hyperparameter name', () => {
    expectCut(messageOf(() => validateHyperparameters('random_forest', { n_estimators: HUGE })));
    expectCut(messageOf(() => validateHyperparameters('random_forest', { [HUGE]: 1 })));
  });

  it('a label column', () => {
    const table = parseCsv('a,b,label\n1,2,x\n3,4,y\n');
    expectCut(messageOf(() => customLabeledTable(table, HUGE)));
  });

  it('a REST query parameter', () => {
    const ctx = { url: new URL(`http://localhost/api/predictions?limit=${HUGE}`) } as RouteContext;
    expectCut(messageOf(() => limitParam(ctx, 10, 100)));
  });
});
