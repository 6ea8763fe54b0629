import { builder } from './builder.js';
import { MODEL_CATALOG, describeAllowed, type HyperparameterSpec, type ModelSpec } from '../ml/catalog.js';

const HyperparameterType = builder.enumType('HyperparameterType', {
  values: {
    INT: { value: 'int' },
    FLOAT: { value: 'float' },
    ENUM: { value: 'enum' },
    BOOL: { value: 'bool' },
    INT_LIST: { value: 'int_list' },
    FLOAT_LIST: { value: 'float_list' },
    RUN_ID_LIST: { value: 'run_id_list', description: 'Training run ids (soft_voting members).' },
  } as const,
});

const Hyperparameter = builder.objectRef<HyperparameterSpec>('Hyperparameter').implement({
  description: 'A typed hyperparameter: the same spec validates configureSession input.',
  fields: (t) => ({
    name: t.exposeString('name'),
    type: t.field({ type: HyperparameterType, resolve: (spec) => spec.type }),
    default: t.field({ type: 'JSON', nullable: true, resolve: (spec) => spec.default }),
    min: t.float({ nullable: true, resolve: (spec) => spec.min ?? null }),
    minExclusive: t.boolean({ resolve: (spec) => spec.minExclusive === true }),
    max: t.float({ nullable: true, resolve: (spec) => spec.max ?? null }),
    choices: t.stringList({ nullable: true, resolve: (spec) => spec.choices ?? null }),
    nullable: t.boolean({ resolve: (spec) => spec.nullable === true }),
    specialValues: t.stringList({ nullable: true, resolve: (spec) => spec.specialValues ?? null }),
    allowed: t.string({
      description: 'What the parameter accepts, in words.',
      resolve: (spec) => describeAllowed(spec),
    }),
    description: t.exposeString('description'),
  }),
});

export const ModelType = builder.objectRef<ModelSpec>('ModelType').implement({
  description: 'A model type of the catalog with its hyperparameters.',
  fields: (t) => ({
    id: t.exposeID('id'),
    name: t.exposeString('name'),
    description: t.exposeString('description'),
    family: t.exposeString('family'),
    aliases: t.exposeStringList('aliases'),
    explanation: t.string({
      description: 'How predictions of this model are explained.',
      resolve: (spec) => (spec.hasTreeStructure ? 'exact TreeSHAP' : 'sampling Shapley values (model-agnostic)'),
    }),
    hyperparameters: t.field({ type: [Hyperparameter], resolve: (spec) => spec.hyperparameters }),
    tfBackend: t.string({
      nullable: true,
      description: 'For neural networks: the TensorFlow.js backend (see health.tfBackend).',
      resolve: async (spec, _args, { services }) =>
        spec.family === 'neural' ? (await services.health.report()).tfBackend : null,
    }),
  }),
});

builder.queryField('models', (t) =>
  t.field({
    type: [ModelType],
    description: 'The model catalog.',
    resolve: () => [...MODEL_CATALOG],
  }),
);
