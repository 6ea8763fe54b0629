/**
 * The dashboard's GraphQL operations, typed against the committed schema (gql.tada): the browser sends them to
 * /graphql (and trainingProgress over graphql-ws), the SVG images run RunPlots in-process. A schema change that
 * breaks one fails `npm run typecheck`.
 */
import { print } from 'graphql';
import { graphql, type ResultOf, type TadaDocumentNode, type VariablesOf } from '../client/graphql.js';

export const CatalogQuery = graphql(`
  query DashboardCatalog {
    datasets {
      id
      name
      kind
      mission
      available
      hint
      rowCount
      classes
      classCounts {
        label
        count
      }
      featureColumns
      featureCandidates
      vettingColumns
    }
    models {
      id
      name
      family
      description
      explanation
      hyperparameters {
        name
        type
        default
        min
        max
        minExclusive
        choices
        nullable
        specialValues
        description
        allowed
      }
    }
  }
`);

export const CreateSessionMutation = graphql(`
  mutation DashboardCreateSession {
    createSession {
      id
    }
  }
`);

export const ConfigureSessionMutation = graphql(`
  mutation DashboardConfigureSession($input: ConfigureSessionInput!) {
    configureSession(input: $input) {
      id
      datasetId
      modelType
      task
      hyperparameters
      features
      useVettingFeatures
    }
  }
`);

export const StartTrainingMutation = graphql(`
  mutation DashboardStartTraining($sessionId: ID!) {
    startTraining(sessionId: $sessionId) {
      id
      status
      queuePosition
    }
  }
`);

export const CancelTrainingMutation = graphql(`
  mutation DashboardCancelTraining($runId: ID!) {
    cancelTraining(runId: $runId) {
      id
      status
    }
  }
`);

export const ProgressSubscription = graphql(`
  subscription DashboardProgress($runId: ID!) {
    trainingProgress(runId: $runId) {
      runId
      seq
      at
      status
      stage
      progress
      step
      totalSteps
      etaSeconds
      message
      queuePosition
      metrics {
        loss
        valLoss
        valAccuracy
      }
    }
  }
`);

export const RunHistoryQuery = graphql(`
  query DashboardRunHistory($runId: ID!) {
    trainingRun(id: $runId) {
      id
      status
      events {
        stage
        step
        totalSteps
        at
      }
      history {
        step
        loss
        valLoss
        valAccuracy
      }
    }
  }
`);

/** Everything the result charts draw: also what the server's SVG images read. */
export const RunResultsQuery = graphql(`
  query DashboardRunResults($runId: ID!) {
    trainingRun(id: $runId) {
      id
      status
      error
      modelType
      datasetId
      hyperparameters
      usesVettingFeatures
      warnings
      features
      createdAt
      splitCounts {
        train
        validation
        test
      }
      timings {
        fitSeconds
        totalSeconds
      }
      history {
        step
        loss
        valLoss
        valAccuracy
      }
      metrics {
        classes
        numSamples
        accuracy
        balancedAccuracy
        macroF1
        macroPrecision
        macroRecall
        rocAucOvr
        prAucMacro
        logLoss
        brierScore
        majorityBaselineAccuracy
        majorityBaselineMacroF1
        perClass {
          label
          precision
          recall
          f1
          rocAuc
          prAuc
          support
        }
        confusionMatrix {
          labels
          matrix
        }
        rocCurves {
          label
          x
          y
        }
        prCurves {
          label
          x
          y
        }
        calibration
      }
      featureImportance {
        feature
        importance
        permutationImportance
        permutationMean
        permutationCi95
      }
    }
  }
`);

export const SessionRunsQuery = graphql(`
  query DashboardSessionRuns($sessionId: ID!) {
    session(id: $sessionId) {
      id
      runs(first: 50) {
        nodes {
          id
          status
          modelType
          datasetId
          createdAt
          hyperparameters
          metrics {
            accuracy
            balancedAccuracy
            macroF1
            rocAucOvr
            logLoss
            majorityBaselineAccuracy
            majorityBaselineMacroF1
          }
        }
      }
    }
  }
`);

export const RankCandidatesMutation = graphql(`
  mutation DashboardRankCandidates($runId: ID!, $datasetId: ID!) {
    predictBatch(runId: $runId, datasetId: $datasetId, candidatesOnly: true) {
      id
      csvUrl
      rowCount
      classes
    }
  }
`);

export const PredictionRowsQuery = graphql(`
  query DashboardPredictionRows($id: ID!, $offset: Int!, $limit: Int!, $sortByClass: String, $ascending: Boolean) {
    prediction(id: $id) {
      id
      rowCount
      rows(offset: $offset, limit: $limit, sortByClass: $sortByClass, ascending: $ascending) {
        rowIndex
        ids
        label
        confidence
        probabilities {
          label
          probability
        }
      }
    }
  }
`);

/**
 * 2000 rows of a dataset in table order (20 pages of previewRows' largest page): the dashboard finds a ranked
 * candidate's raw row among them to explain it (PredictedRow has no values; see the report of issue 15).
 */
export const DatasetPreviewQuery = graphql(`
  query DashboardDatasetPreview(
    $id: ID!
    $o0: Int!
    $o1: Int!
    $o2: Int!
    $o3: Int!
    $o4: Int!
    $o5: Int!
    $o6: Int!
    $o7: Int!
    $o8: Int!
    $o9: Int!
    $o10: Int!
    $o11: Int!
    $o12: Int!
    $o13: Int!
    $o14: Int!
    $o15: Int!
    $o16: Int!
    $o17: Int!
    $o18: Int!
    $o19: Int!
  ) {
    dataset(id: $id) {
      id
      p0: previewRows(offset: $o0, limit: 100)
      p1: previewRows(offset: $o1, limit: 100)
      p2: previewRows(offset: $o2, limit: 100)
      p3: previewRows(offset: $o3, limit: 100)
      p4: previewRows(offset: $o4, limit: 100)
      p5: previewRows(offset: $o5, limit: 100)
      p6: previewRows(offset: $o6, limit: 100)
      p7: previewRows(offset: $o7, limit: 100)
      p8: previewRows(offset: $o8, limit: 100)
      p9: previewRows(offset: $o9, limit: 100)
      p10: previewRows(offset: $o10, limit: 100)
      p11: previewRows(offset: $o11, limit: 100)
      p12: previewRows(offset: $o12, limit: 100)
      p13: previewRows(offset: $o13, limit: 100)
      p14: previewRows(offset: $o14, limit: 100)
      p15: previewRows(offset: $o15, limit: 100)
      p16: previewRows(offset: $o16, limit: 100)
      p17: previewRows(offset: $o17, limit: 100)
      p18: previewRows(offset: $o18, limit: 100)
      p19: previewRows(offset: $o19, limit: 100)
    }
  }
`);

export const PREVIEW_PAGES = 20;

export const ExplainQuery = graphql(`
  query DashboardExplain($runId: ID!, $row: JSON!, $label: String) {
    explain(runId: $runId, row: $row, label: $label) {
      label
      method
      outputSpace
      baseValue
      output
      residual
      reasons
      warnings
      contributions {
        feature
        value
        contribution
      }
    }
  }
`);

export const PredictQuery = graphql(`
  query DashboardPredict($runId: ID!, $rows: [JSON!]!) {
    predict(runId: $runId, rows: $rows) {
      label
      confidence
      warnings
      probabilities {
        label
        probability
      }
    }
  }
`);

export const UploadDatasetMutation = graphql(`
  mutation DashboardUpload($file: File!, $name: String) {
    uploadDataset(file: $file, name: $name) {
      id
      name
      rowCount
      classes
    }
  }
`);

export type Catalog = ResultOf<typeof CatalogQuery>;
export type DatasetInfo = Catalog['datasets'][number];
export type ModelInfo = Catalog['models'][number];
export type HyperparameterInfo = ModelInfo['hyperparameters'][number];
export type ProgressEvent = ResultOf<typeof ProgressSubscription>['trainingProgress'];
export type RunResults = NonNullable<ResultOf<typeof RunResultsQuery>['trainingRun']>;
export type ConfigureInput = VariablesOf<typeof ConfigureSessionMutation>['input'];

const printed = new WeakMap<object, string>();

/** The document's text, printed once (what goes over the wire). */
export function documentText<Result, Variables>(document: TadaDocumentNode<Result, Variables>): string {
  let text = printed.get(document);
  if (text === undefined) {
    text = print(document);
    printed.set(document, text);
  }
  return text;
}
