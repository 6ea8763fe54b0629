/**
 * The pure parts of wiring model selection into runs: stored session options read back field by field, the option
 * rules, the count of stars split across folds, and a calibrated artefact read back and applied by the predictor.
 */
import { describe, expect, it } from 'vitest';
import { AppError } from '../../src/domain/errors.js';
import { DEFAULT_SELECTION, readSelection, selectionProblem } from '../../src/domain/run.js';
import { starsInSeveralFolds } from '../../src/ml/pipeline.js';
import { decodeArtifact } from '../../src/ml/artifact.js';
import { applyCalibration, fitCalibration } from '../../src/ml/selection/calibration.js';

describe('readSelection', () => {
  it('reads stored options; a missing field (an older row) is its default', () => {
    expect(readSelection(null)).toEqual(DEFAULT_SELECTION);
    expect(readSelection({})).toEqual(DEFAULT_SELECTION);
    const stored = {
      cvFolds: 5,
      calibration: 'isotonic',
      calibrateOn: 'OUT_OF_FOLD',
      refit: 'ALL_LABELLED',
      crossMission: 'tess',
      decisionTuning: 'MACRO_F1',
    };
    expect(readSelection(stored)).toEqual({ ...DEFAULT_SELECTION, ...stored });
    // Rows stored before decision tuning existed read as NONE.
    expect(readSelection({ cvFolds: 3 })).toEqual({ ...DEFAULT_SELECTION, cvFolds: 3 });
  });

  it('fails loudly on a corrupt row, naming the field, instead of reading it as another configuration', () => {
    const corrupt: [unknown, string][] = [
      [[1, 2], 'the value itself'],
      [{ cvFolds: 11 }, 'cvFolds'],
      [{ cvFolds: 2.5 }, 'cvFolds'],
      [{ calibration: 'platt' }, 'calibration'],
      [{ calibrateOn: 'TEST' }, 'calibrateOn'],
      [{ refit: 'yes' }, 'refit'],
      [{ crossMission: 3 }, 'crossMission'],
      [{ decisionTuning: 'ACCURACY' }, 'decisionTuning'],
    ];
    for (const [value, field] of corrupt) {
      expect(() => readSelection(value)).toThrow(`The stored sessions.selection is malformed (${field}).`);
      // A plain Error: masked at the edge and logged, not answered as the user's mistake.
      expect(() => readSelection(value)).not.toThrow(AppError);
    }
  });
});

describe('selectionProblem', () => {
  const context = { validationShare: 0.1, datasetId: 'kepler', datasetIsNasa: true };
  it('decision tuning needs out-of-fold predictions (cvFolds) or a validation split', () => {
    const tuned = { ...DEFAULT_SELECTION, decisionTuning: 'MACRO_F1' as const };
    expect(selectionProblem(tuned, context)).toBeNull();
    expect(selectionProblem(tuned, { ...context, validationShare: 0 })?.field).toBe('decisionTuning');
    expect(selectionProblem({ ...tuned, cvFolds: 3 }, { ...context, validationShare: 0 })).toBeNull();
  });
  it('needs cross-validation for out-of-fold calibration and a validation split for validation calibration', () => {
    const sigmoid = { ...DEFAULT_SELECTION, calibration: 'sigmoid' as const };
    expect(selectionProblem(sigmoid, context)).toBeNull();
    expect(selectionProblem({ ...sigmoid, calibrateOn: 'OUT_OF_FOLD' }, context)?.field).toBe('calibrateOn');
    expect(selectionProblem({ ...sigmoid, calibrateOn: 'OUT_OF_FOLD', cvFolds: 3 }, context)).toBeNull();
    expect(selectionProblem(sigmoid, { ...context, validationShare: 0 })?.message).toMatch(/validation split/);
    // Without calibration the validation share does not matter.
    expect(selectionProblem(DEFAULT_SELECTION, { ...context, validationShare: 0 })).toBeNull();
  });
  it('evaluates across missions only from a NASA table to another one', () => {
    const tess = { ...DEFAULT_SELECTION, crossMission: 'tess' };
    expect(selectionProblem(tess, context)).toBeNull();
    expect(selectionProblem(tess, { ...context, datasetId: 'tess' })?.field).toBe('crossMissionDatasetId');
    expect(selectionProblem(tess, { ...context, datasetId: 'ds_1', datasetIsNasa: false })?.field).toBe(
      'crossMissionDatasetId',
    );
  });
});

describe('starsInSeveralFolds', () => {
  it('counts the stars whose rows fall in more than one fold', () => {
    const groups = ['a', 'a', 'b', 'b', 'c', 'x'];
    const rows = Int32Array.from([0, 1, 2, 3, 4]);
    expect(starsInSeveralFolds(groups, rows, Int32Array.from([0, 0, 1, 1, 2]))).toBe(0);
    expect(starsInSeveralFolds(groups, rows, Int32Array.from([0, 1, 1, 1, 2]))).toBe(1);
    expect(starsInSeveralFolds(groups, rows, Int32Array.from([0, 1, 1, 0, 2]))).toBe(2);
    expect(starsInSeveralFolds(null, rows, Int32Array.from([0, 1, 1, 0, 2]))).toBe(0);
  });
});

describe('a calibrated artefact', () => {
  const base = {
    formatVersion: 1,
    modelType: 'logistic_regression',
    task: 'BINARY',
    classes: ['false_positive', 'planet'],
    features: ['x'],
    tableColumns: ['x', 'label'],
    labelColumn: 'label',
    idColumns: [],
    mission: null,
    usesVettingFeatures: false,
    preprocessor: {
      formatVersion: 1,
      options: { impute: true, scale: true },
      medians: [0],
      means: [0],
      stds: [1],
      ranges: [{ min: 0, max: 1 }],
    },
    model: { formatVersion: 1, modelType: 'logistic_regression' },
    background: [[0]],
  };
  it('reads its calibrators back, checked, and refuses malformed ones', () => {
    const proba = Float64Array.from([0.9, 0.1, 0.6, 0.4, 0.3, 0.7, 0.2, 0.8]);
    const calibration = fitCalibration(proba, Int32Array.from([0, 1, 1, 1]), 2, 'isotonic');
    const read = decodeArtifact(JSON.stringify({ ...base, calibration }));
    expect(read.calibration).toEqual(calibration);
    if (!read.calibration) return;
    expect(Array.from(applyCalibration(read.calibration, proba))).toEqual(
      Array.from(applyCalibration(calibration, proba)),
    );
    expect(decodeArtifact(JSON.stringify(base)).calibration).toBeUndefined();
    expect(() => decodeArtifact(JSON.stringify({ ...base, calibration: { ...calibration, numClasses: 3 } }))).toThrow(
      /calibration/,
    );
    expect(() =>
      decodeArtifact(
        JSON.stringify({
          ...base,
          calibration: { ...calibration, calibrators: [{ method: 'isotonic', x: [1], y: [] }] },
        }),
      ),
    ).toThrow(/calibration/);
  });
});
