/**
 * Reading a stored pipeline artefact back: JSON from the database is checked field by field (the fields the
 * prediction path reads), never cast. A malformed artefact is a server fault, not user input: a plain Error, masked
 * at the edge and logged.
 */
import { TASKS } from '../domain/data.js';
import { MODEL_TYPE_IDS } from './catalog.js';
import type { PipelineArtifact } from './pipeline.js';
import type { CalibrationJSON, CalibratorJSON } from './selection/calibration.js';
import type { PreprocessorJSON } from './preprocess.js';
import type { SerializedModel } from './types.js';

function corrupt(field: string): never {
  throw new Error(`The stored model artefact is malformed (${field}).`);
}

type Json = Record<string, unknown>;

function isRecord(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function record(value: unknown, field: string): Json {
  return isRecord(value) ? value : corrupt(field);
}

function strings(value: unknown, field: string): string[] {
  const list: unknown[] = Array.isArray(value) ? value : corrupt(field);
  return list.every((v): v is string => typeof v === 'string') ? list : corrupt(field);
}

function numbers(value: unknown, field: string): number[] {
  const list: unknown[] = Array.isArray(value) ? value : corrupt(field);
  return list.every((v): v is number => typeof v === 'number') ? list : corrupt(field);
}

/** A number, or null (JSON has no NaN: the artefact writes missing values and unbounded ranges as null). */
function numberOrNull(value: unknown, field: string): number | null {
  return value === null || typeof value === 'number' ? value : corrupt(field);
}

function bool(value: unknown, field: string): boolean {
  return typeof value === 'boolean' ? value : corrupt(field);
}

function oneOf<T extends string>(value: unknown, words: readonly T[], field: string): T {
  return words.find((word) => word === value) ?? corrupt(field);
}

function preprocessor(value: unknown): PreprocessorJSON {
  const p = record(value, 'preprocessor');
  if (p.formatVersion !== 1) corrupt('preprocessor.formatVersion');
  const options = record(p.options, 'preprocessor.options');
  return {
    formatVersion: 1,
    options: {
      impute: bool(options.impute, 'preprocessor.options'),
      scale: bool(options.scale, 'preprocessor.options'),
    },
    medians: numbers(p.medians, 'preprocessor.medians'),
    means: numbers(p.means, 'preprocessor.means'),
    stds: numbers(p.stds, 'preprocessor.stds'),
    ranges: (Array.isArray(p.ranges) ? p.ranges : corrupt('preprocessor.ranges')).map((range) => {
      const r = record(range, 'preprocessor.ranges');
      return { min: numberOrNull(r.min, 'preprocessor.ranges'), max: numberOrNull(r.max, 'preprocessor.ranges') };
    }),
  };
}

function model(value: unknown): SerializedModel {
  const m = record(value, 'model');
  const formatVersion = typeof m.formatVersion === 'number' ? m.formatVersion : corrupt('model.formatVersion');
  // The model's own fields are read by its loader (models/define.ts and the model), which checks them.
  return { ...m, modelType: oneOf(m.modelType, MODEL_TYPE_IDS, 'model.modelType'), formatVersion };
}

function calibrator(value: unknown): CalibratorJSON {
  const c = record(value, 'calibration.calibrators');
  if (c.method === 'sigmoid') {
    const a = typeof c.a === 'number' ? c.a : corrupt('calibration.a');
    const b = typeof c.b === 'number' ? c.b : corrupt('calibration.b');
    return { method: 'sigmoid', a, b };
  }
  if (c.method !== 'isotonic') corrupt('calibration.method');
  const x = numbers(c.x, 'calibration.x');
  const y = numbers(c.y, 'calibration.y');
  if (x.length === 0 || x.length !== y.length) corrupt('calibration.x');
  return { method: 'isotonic', x, y };
}

function calibration(value: unknown, classes: number): CalibrationJSON {
  const c = record(value, 'calibration');
  if (c.formatVersion !== 1) corrupt('calibration.formatVersion');
  const calibrators = (Array.isArray(c.calibrators) ? c.calibrators : corrupt('calibration.calibrators')).map(
    calibrator,
  );
  if (c.numClasses !== classes || calibrators.length !== (classes === 2 ? 1 : classes))
    corrupt('calibration.numClasses');
  return {
    formatVersion: 1,
    method: oneOf(c.method, ['sigmoid', 'isotonic'] as const, 'calibration.method'),
    numClasses: classes,
    calibrators,
    fittedRows: typeof c.fittedRows === 'number' ? c.fittedRows : corrupt('calibration.fittedRows'),
  };
}

function classScales(value: unknown, classes: number): number[] {
  const scales = numbers(value, 'classScales');
  return scales.length === classes && scales.every((s) => Number.isFinite(s) && s > 0)
    ? scales
    : corrupt('classScales');
}

/** Parses and checks an artefact's JSON text. */
export function decodeArtifact(text: string): PipelineArtifact {
  return checkArtifact(JSON.parse(text));
}

/** Checks a parsed artefact (a soft-voting ensemble's members are artefacts inside its own). */
export function checkArtifact(value: unknown): PipelineArtifact {
  const a = record(value, 'artefact');
  if (a.formatVersion !== 1) corrupt('formatVersion');
  const mission = a.mission === null ? null : typeof a.mission === 'string' ? a.mission : corrupt('mission');
  const classes = strings(a.classes, 'classes');
  return {
    formatVersion: 1,
    modelType: oneOf(a.modelType, MODEL_TYPE_IDS, 'modelType'),
    task: oneOf(a.task, TASKS, 'task'),
    classes,
    features: strings(a.features, 'features'),
    tableColumns: strings(a.tableColumns, 'tableColumns'),
    labelColumn: typeof a.labelColumn === 'string' ? a.labelColumn : corrupt('labelColumn'),
    idColumns: strings(a.idColumns, 'idColumns'),
    mission,
    usesVettingFeatures: bool(a.usesVettingFeatures, 'usesVettingFeatures'),
    preprocessor: preprocessor(a.preprocessor),
    model: model(a.model),
    background: (Array.isArray(a.background) ? a.background : corrupt('background')).map((row) =>
      (Array.isArray(row) ? row : corrupt('background')).map((v) => numberOrNull(v, 'background')),
    ),
    ...(a.calibration === undefined ? {} : { calibration: calibration(a.calibration, classes.length) }),
    ...(a.classScales === undefined ? {} : { classScales: classScales(a.classScales, classes.length) }),
  };
}
