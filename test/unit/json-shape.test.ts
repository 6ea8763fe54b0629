/**
 * Free-form JSON the server stores is bounded before anything walks it recursively: a preprocessingConfig nested
 * 5,000 levels overflowed JSON.stringify in the storage layer (a masked 500 in the hardening battery).
 */
import { describe, expect, it } from 'vitest';
import { AppError } from '../../src/domain/errors.js';
import { checkJsonShape } from '../../src/domain/json.js';

function nested(levels: number): unknown {
  let value: unknown = 1;
  for (let i = 0; i < levels; i++) value = { a: value };
  return value;
}

function refusal(run: () => void): AppError {
  try {
    run();
  } catch (error) {
    if (error instanceof AppError) return error;
    throw error;
  }
  throw new Error('expected a refusal');
}

describe('checkJsonShape', () => {
  it('accepts a web client settings object', () => {
    expect(() => {
      checkJsonShape({ scaling: 'standard', impute: { strategy: 'median', columns: ['a', 'b'] } }, 'cfg');
    }).not.toThrow();
    expect(() => {
      checkJsonShape(nested(15), 'cfg');
    }).not.toThrow();
  });

  it('refuses 5,000 levels (and 100,000) as BAD_USER_INPUT naming the field, without recursing', () => {
    for (const levels of [17, 5000, 100_000]) {
      const error = refusal(() => {
        checkJsonShape(nested(levels), 'preprocessingConfig');
      });
      expect(error.code).toBe('BAD_USER_INPUT');
      expect(error.field).toBe('preprocessingConfig');
      expect(error.message).toMatch(/^preprocessingConfig must be nested at most 16 levels deep/);
    }
  });

  it('refuses more than 10,000 values', () => {
    const error = refusal(() => {
      checkJsonShape({ list: Array.from({ length: 10_001 }, (_, i) => i) }, 'cfg');
    });
    expect(error.message).toContain('at most 10,000 values');
  });
});
