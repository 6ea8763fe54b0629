/**
 * A cost limit that counts list sizes, which graphql-armor's cost limit does not: `datasets`, `previewRows`, run pages
 * and `testPredictions` cost their page size times what is asked of each item, so 20 aliases of
 * `datasets { previewRows }` are refused before anything executes. Variables are not known at validation, so a page
 * size given by a variable counts as its maximum.
 */
import {
  GraphQLError,
  getNamedType,
  isObjectType,
  isInterfaceType,
  Kind,
  type ASTVisitor,
  type GraphQLNamedType,
  type SelectionSetNode,
  type ValidationContext,
  type ValueNode,
} from 'graphql';
import type { Plugin } from 'graphql-yoga';
import { MAX_DATASETS_PAGE, MAX_PREVIEW_LIMIT } from '../services/datasets.js';
import { DEFAULT_TEST_PREDICTIONS_PAGE, MAX_TEST_PREDICTIONS_PAGE } from '../services/training/held-out.js';
import { DEFAULT_RUNS_PAGE, MAX_RUNS_PAGE } from '../services/training/queries.js';
import { rejectQueryLimit } from './request-errors.js';

/**
 * Highest list cost of one operation. The dashboard's 20 pages of 100 preview rows cost ~2,000 and its catalog
 * (every dataset's summary) ~1,800; 20 aliases × `datasets { id previewRows(limit: 1) }` cost ~6,000.
 */
export const MAX_LIST_COST = 5_000;

interface PagedList {
  /** The argument that sets the page size. */
  arg: 'limit' | 'first';
  max: number;
  default: number;
  /** Items that count as one: a test prediction (an id, a class and K numbers) weighs far less than a raw row. */
  itemsPerUnit: number;
}

/** Lists whose size an argument sets (up to the given maximum, the default when absent). */
const PAGED_LISTS = new Map<string, PagedList>([
  ['Query.datasets', { arg: 'limit', max: MAX_DATASETS_PAGE, default: MAX_DATASETS_PAGE, itemsPerUnit: 1 }],
  ['Dataset.previewRows', { arg: 'limit', max: MAX_PREVIEW_LIMIT, default: 10, itemsPerUnit: 1 }],
  ['Query.trainingRuns', { arg: 'first', max: MAX_RUNS_PAGE, default: DEFAULT_RUNS_PAGE, itemsPerUnit: 1 }],
  ['Session.runs', { arg: 'first', max: MAX_RUNS_PAGE, default: DEFAULT_RUNS_PAGE, itemsPerUnit: 1 }],
  [
    'TrainingRun.testPredictions',
    { arg: 'limit', max: MAX_TEST_PREDICTIONS_PAGE, default: DEFAULT_TEST_PREDICTIONS_PAGE, itemsPerUnit: 100 },
  ],
]);

/** Fragments nested deeper than this are refused elsewhere (max depth); stop counting rather than recurse on. */
const MAX_WALK_DEPTH = 32;

function pageSize(value: ValueNode | undefined, list: PagedList): number {
  if (!value) return list.default / list.itemsPerUnit;
  if (value.kind === Kind.INT) return Math.min(Math.max(0, Number(value.value)), list.max) / list.itemsPerUnit;
  return list.max / list.itemsPerUnit; // a variable: unknown until execution
}

interface Walk {
  context: ValidationContext;
  /** Whether a paged list was met: without one, armor's cost limit and graphql-js' own checks suffice. */
  sawList: boolean;
}

function selectionCost(walk: Walk, parent: GraphQLNamedType, selectionSet: SelectionSetNode, depth: number): number {
  const { context } = walk;
  if (depth > MAX_WALK_DEPTH) return 0;
  let cost = 0;
  for (const selection of selectionSet.selections) {
    if (selection.kind === Kind.FIELD) {
      const fields = isObjectType(parent) || isInterfaceType(parent) ? parent.getFields() : {};
      const field = Object.hasOwn(fields, selection.name.value) ? fields[selection.name.value] : undefined;
      const list = PAGED_LISTS.get(`${parent.name}.${selection.name.value}`);
      if (list) walk.sawList = true;
      const size = list
        ? pageSize(selection.arguments?.find((argument) => argument.name.value === list.arg)?.value, list)
        : 1;
      const inner =
        field && selection.selectionSet
          ? selectionCost(walk, getNamedType(field.type), selection.selectionSet, depth + 1)
          : 1;
      cost += 1 + size * inner;
    } else if (selection.kind === Kind.INLINE_FRAGMENT) {
      const type = selection.typeCondition
        ? (context.getSchema().getType(selection.typeCondition.name.value) ?? parent)
        : parent;
      cost += selectionCost(walk, type, selection.selectionSet, depth + 1);
    } else {
      const fragment = context.getFragment(selection.name.value);
      const type = fragment ? context.getSchema().getType(fragment.typeCondition.name.value) : undefined;
      if (fragment && type) cost += selectionCost(walk, type, fragment.selectionSet, depth + 1);
    }
  }
  return cost;
}

export function listCostRule(context: ValidationContext): ASTVisitor {
  return {
    OperationDefinition(operation) {
      const root = context.getSchema().getRootType(operation.operation);
      if (!root) return;
      const walk: Walk = { context, sawList: false };
      const cost = selectionCost(walk, root, operation.selectionSet, 0);
      if (walk.sawList && cost > MAX_LIST_COST)
        rejectQueryLimit(
          context,
          new GraphQLError(
            `List cost limit of ${String(MAX_LIST_COST)} exceeded, found ${String(Math.ceil(cost))} (each list counts its page size: datasets(limit), previewRows(limit), trainingRuns/runs(first), testPredictions(limit) per ${String(PAGED_LISTS.get('TrainingRun.testPredictions')?.itemsPerUnit)} rows).`,
          ),
        );
    },
  };
}

/** Adds listCostRule to every validation (HTTP, SSE, WebSocket and in-process REST share this pipeline). */
export function useListCostLimit(): Plugin {
  return {
    onValidate({ addValidationRule }) {
      addValidationRule(listCostRule);
    },
  };
}
