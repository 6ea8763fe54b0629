import { builder } from './builder.js';
import {
  MAX_DATASETS_PAGE,
  MAX_PARSED_UPLOADS_PER_REQUEST,
  MAX_PREVIEW_LIMIT,
  STORED_PREVIEW_ROWS,
  type DataSourceInfo,
  type DatasetSummary,
  type ParseBudget,
} from '../services/datasets.js';
import type { ClassCount as ClassCountShape } from '../domain/data.js';
import type { StoredColumn } from '../domain/dataset-store.js';
import type { GraphQLContext } from '../http/context.js';

/** The uploads one request has parsed, keyed by its context (one context object per operation). */
const parseBudgets = new WeakMap<GraphQLContext, ParseBudget>();

function budgetOf(context: GraphQLContext): ParseBudget {
  let budget = parseBudgets.get(context);
  if (!budget) {
    budget = { parsed: new Set() };
    parseBudgets.set(context, budget);
  }
  return budget;
}

const DatasetKind = builder.enumType('DatasetKind', { values: ['NASA', 'UPLOAD'] as const });

const DatasetSourceKind = builder.enumType('DatasetSourceKind', {
  values: {
    EMBEDDED_SNAPSHOT: { description: 'The gzip snapshot shipped in the repository (embedded-data/nasa).' },
    DATA_FOLDER: {
      description: 'A table in NASA_DATA_DIR (what `npm run data:fetch` writes); it wins over the snapshot.',
    },
    UPLOAD: { description: 'A CSV uploaded by a user.' },
  } as const,
});

const DatasetSource = builder.objectRef<DataSourceInfo>('DatasetSource').implement({
  description: 'Where the rows of a dataset are read from.',
  fields: (t) => ({
    kind: t.field({ type: DatasetSourceKind, resolve: (s) => s.kind }),
    folder: t.exposeString('folder', { nullable: true, description: 'The folder read (null for uploads).' }),
    fileName: t.exposeString('fileName', { nullable: true }),
    compressed: t.exposeBoolean('compressed', { description: 'Whether the file is gzip-compressed (.csv.gz).' }),
    exportedAt: t.expose('exportedAt', {
      type: 'DateTime',
      nullable: true,
      description: "When NASA's archive exported the table (from the file's header).",
    }),
  }),
});

export const ClassCount = builder.objectRef<ClassCountShape>('ClassCount').implement({
  fields: (t) => ({ label: t.exposeString('label'), count: t.exposeInt('count') }),
});

const Column = builder.objectRef<StoredColumn>('Column').implement({
  description: 'A column of the table: its type and how often it is empty.',
  fields: (t) => ({
    name: t.exposeString('name'),
    type: t.string({ description: 'numeric or text', resolve: (column) => column.type }),
    missingShare: t.exposeFloat('missingShare'),
    min: t.float({
      nullable: true,
      resolve: (column) =>
        column.type === 'numeric' && column.min !== undefined && Number.isFinite(column.min) ? column.min : null,
    }),
    max: t.float({
      nullable: true,
      resolve: (column) =>
        column.type === 'numeric' && column.max !== undefined && Number.isFinite(column.max) ? column.max : null,
    }),
  }),
});

export const Dataset = builder.objectRef<DatasetSummary>('Dataset').implement({
  description: 'A NASA table (kepler, k2, tess) or an uploaded CSV.',
  fields: (t) => ({
    id: t.exposeID('id'),
    name: t.exposeString('name'),
    kind: t.field({ type: DatasetKind, resolve: (d) => d.kind }),
    mission: t.exposeString('mission', {
      nullable: true,
      description: "NASA mission of the table or of the upload's format.",
    }),
    available: t.exposeBoolean('available'),
    hint: t.exposeString('hint', { nullable: true, description: 'Why the dataset is unavailable and how to fix it.' }),
    originalFileName: t.exposeString('originalFileName', { nullable: true }),
    sizeBytes: t.exposeInt('sizeBytes', { nullable: true }),
    createdAt: t.expose('createdAt', { type: 'DateTime', nullable: true }),
    source: t.field({
      type: DatasetSource,
      nullable: true,
      description: 'Where the rows come from (null when unavailable).',
      resolve: (d) => d.source,
    }),
    rowCount: t.int({
      nullable: true,
      description: 'Labelled rows (K2: one per object, default_flag = 1).',
      resolve: async (d, _args, context) =>
        d.available ? (await context.services.datasets.describe(d.id)).rowCount : null,
    }),
    labelColumn: t.string({
      nullable: true,
      resolve: async (d, _a, context) =>
        d.available ? (await context.services.datasets.describe(d.id)).labelColumn : null,
    }),
    groupColumn: t.string({
      nullable: true,
      description: 'The star column: splits never put one star on both sides.',
      resolve: async (d, _a, context) =>
        d.available ? (await context.services.datasets.describe(d.id)).groupColumn : null,
    }),
    classes: t.stringList({
      resolve: async (d, _a, context) => (d.available ? (await context.services.datasets.describe(d.id)).classes : []),
    }),
    classCounts: t.field({
      type: [ClassCount],
      resolve: async (d, _a, context) =>
        d.available ? (await context.services.datasets.describe(d.id)).classCounts : [],
    }),
    featureColumns: t.stringList({
      description: 'The default features (physics only for NASA tables).',
      resolve: async (d, _a, context) =>
        d.available ? (await context.services.datasets.describe(d.id)).featureColumns : [],
    }),
    featureCandidates: t.stringList({
      description: 'Every numeric column that may be chosen as a feature.',
      resolve: async (d, _a, context) =>
        d.available ? (await context.services.datasets.describe(d.id)).featureCandidates : [],
    }),
    vettingColumns: t.stringList({
      description: 'Columns from the vetting that produced the label (leakage): only used with useVettingFeatures.',
      resolve: async (d, _a, context) =>
        d.available ? (await context.services.datasets.describe(d.id)).vettingColumns : [],
    }),
    columns: t.field({
      type: [Column],
      resolve: async (d, _a, context) => (d.available ? (await context.services.datasets.describe(d.id)).columns : []),
    }),
    previewRows: t.field({
      type: ['JSON'],
      description: `A page of raw rows (column → value, null when empty), at most ${String(MAX_PREVIEW_LIMIT)}. An upload's first ${String(STORED_PREVIEW_ROWS)} rows are served from storage; past them one request may read at most ${String(MAX_PARSED_UPLOADS_PER_REQUEST)} uploads.`,
      args: {
        offset: t.arg.int({ defaultValue: 0, required: true }),
        limit: t.arg.int({ defaultValue: 10, required: true }),
      },
      resolve: async (d, { offset, limit }, context) =>
        d.available ? context.services.datasets.preview(d.id, offset, limit, budgetOf(context)) : [],
    }),
  }),
});

builder.queryFields((t) => ({
  datasets: t.field({
    type: [Dataset],
    description: `The NASA missions, then the uploaded datasets newest first: a page of at most ${String(MAX_DATASETS_PAGE)}.`,
    args: {
      offset: t.arg.int({ defaultValue: 0, required: true }),
      limit: t.arg.int({
        defaultValue: MAX_DATASETS_PAGE,
        required: true,
        description: `At most ${String(MAX_DATASETS_PAGE)}.`,
      }),
    },
    resolve: (_root, { offset, limit }, { services, caller }) => services.datasets.list(caller, { offset, limit }),
  }),
  dataset: t.field({
    type: Dataset,
    nullable: true,
    args: { id: t.arg.id({ required: true }) },
    resolve: (_root, { id }, { services, caller }) => services.datasets.getFor(caller, id),
  }),
}));

builder.mutationField('uploadDataset', (t) =>
  t.field({
    type: Dataset,
    description: 'Upload a CSV (multipart request). NASA-format tables are recognised; other CSVs need a label column.',
    args: {
      file: t.arg({ type: 'File', required: true }),
      name: t.arg.string(),
      labelColumn: t.arg.string(),
    },
    resolve: (_root, { file, name, labelColumn }, { services, caller }) =>
      services.datasets.upload(caller, { file, name, labelColumn }),
  }),
);

builder.mutationField('deleteDataset', (t) =>
  t.boolean({
    description:
      'Deletes one of your uploads with its stored file. NOT_FOUND for an upload that is not yours; FORBIDDEN for the ' +
      'NASA tables; CONFLICT while a queued or running training run uses it.',
    args: { id: t.arg.id({ required: true }) },
    resolve: (_root, { id }, { services, caller }) => services.datasets.delete(caller, id),
  }),
);
