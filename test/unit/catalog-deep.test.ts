/** Over-deep or over-large hyperparameter values are refused as user input, not overflowed into a masked 500. */
import { describe, expect, it } from 'vitest';
import { AppError } from '../../src/domain/errors.js';
import { validateHyperparameters } from '../../src/ml/catalog.js';

function nested(depth: number): unknown {
  let value: unknown = 1;
  for (let i = 0; i < depth; i++) value = [value];
  return value;
}

function refusal(run: () => unknown): AppError {
  try {
    run();
  } catch (error) {
    if (error instanceof AppError) return error;
    throw error;
  }
  throw new Error('expected a refusal');
}

describe('hyperparameter values of unreasonable shape', () => {
  it('a value nested 10,000 levels deep is a BAD_USER_INPUT naming the field (no stack overflow)', () => {
    const error = refusal(() => validateHyperparameters('random_forest', { n_estimators: nested(10_000) }));
    expect(error.code).toBe('BAD_USER_INPUT');
    expect(error.field).toBe('hyperparameters.n_estimators');
  });

  it('a deep object or a huge list is refused the same way', () => {
    let deepObject: unknown = {};
    for (let i = 0; i < 10_000; i++) deepObject = { a: deepObject };
    expect(refusal(() => validateHyperparameters('neural_network', { hidden_layers: deepObject })).field).toBe(
      'hyperparameters.hidden_layers',
    );
    const huge = Array.from({ length: 200_000 }, () => 64);
    const error = refusal(() => validateHyperparameters('neural_network', { hidden_layers: huge }));
    expect(error.code).toBe('BAD_USER_INPUT');
    expect(error.field).toBe('hyperparameters.hidden_layers');
  });

  it('a shallow wrong value is still refused with the usual message', () => {
    const error = refusal(() => validateHyperparameters('random_forest', { n_estimators: [[5]] }));
    expect(error.field).toBe('hyperparameters.n_estimators');
    expect(error.message).toMatch(/n_estimators must be/);
  });
});
