/**
 * crossValidateRun: a run's configuration cross-validated on Kepler's train + validation rows, grouped by star.
 */
import { describe, expect, it } from 'vitest';
import { nasaLabeledTable } from '../../src/ml/data/index.js';
import { DEFAULT_SPLIT_SIZES, groupedStratifiedSplit } from '../../src/ml/data/split.js';
import { crossValidateRun } from '../../src/ml/selection/run-cv.js';
import { nasaTableText } from '../fixtures/nasa.js';
import type { CvProgress } from '../../src/ml/selection/cross-validate.js';

describe('crossValidateRun', () => {
  it('cross-validates a decision tree on the rows the run learns from, never the test split, stars kept whole', async () => {
    const table = nasaLabeledTable('kepler', nasaTableText('kepler'));
    const events: CvProgress[] = [];
    const config = {
      modelType: 'decision_tree' as const,
      hyperparameters: { max_depth: 8 },
      features: null,
      useVettingFeatures: false,
      task: 'THREE_CLASS' as const,
      split: { ...DEFAULT_SPLIT_SIZES },
      seed: 42,
    };
    const result = await crossValidateRun(table, config, 3, { onProgress: (e) => events.push(e) });
    const split = groupedStratifiedSplit(table.labels, table.groups, 3, DEFAULT_SPLIT_SIZES, 42);
    expect(result.rowIds).toHaveLength(split.train.length + split.validation.length);
    const testIds = new Set(Array.from(split.test, (r) => table.table.cell(r, table.table.indexOf('kepoi_name'))));
    expect(result.rowIds.some((id) => testIds.has(id.split(' / ')[0]))).toBe(false);
    expect(result.rowIds[0]).toMatch(/^K\d{5}\.\d{2} \/ \d+/);
    expect(result.features).toHaveLength(30);
    expect(result.perFold).toHaveLength(3);
    // Stars (kepid, the second id) never straddle folds.
    const foldOfStar = new Map<string, number>();
    result.rowIds.forEach((id, i) => {
      const star = id.split(' / ')[1];
      const seen = foldOfStar.get(star);
      if (seen === undefined) foldOfStar.set(star, result.foldOf[i]);
      else expect(result.foldOf[i]).toBe(seen);
    });
    const f1 = result.summary.macroF1;
    expect(f1.mean).toBeGreaterThan(0.55);
    expect(f1.sd).toBeGreaterThan(0);
    expect(f1.sd).toBeLessThan(0.05);
    expect(result.outOfFold).toHaveLength(result.rowIds.length * 3);
    expect(events.filter((e) => e.phase === 'FOLD_DONE')).toHaveLength(3);
  });
});
