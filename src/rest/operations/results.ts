/**
 * The operations of the training, prediction and result routes.
 */
import { graphql, type ResultOf } from '../../client/graphql.js';
import {
  BatchFields,
  FeatureImportanceFields,
  MetricsFields,
  RunProgressFields,
  TrainedRunFields,
} from './fragments.js';

export const StartTrainingMutation = graphql(
  `
    mutation RestStartTraining($id: ID!) {
      startTraining(sessionId: $id) {
        ...RestRunProgress
      }
    }
  `,
  [RunProgressFields],
);

export const LatestRunProgressQuery = graphql(
  `
    query RestLatestRunProgress($id: ID!) {
      session(id: $id) {
        latestRun {
          ...RestRunProgress
        }
      }
    }
  `,
  [RunProgressFields],
);

export const LatestSuccessfulRunIdQuery = graphql(`
  query RestLatestSuccessfulRunId($id: ID!) {
    session(id: $id) {
      latestSuccessfulRun {
        id
      }
    }
  }
`);

export const PredictRowsQuery = graphql(`
  query RestPredictRows($run: ID!, $rows: [JSON!]!) {
    predict(runId: $run, rows: $rows) {
      label
      confidence
      probabilities {
        label
        probability
      }
      warnings
    }
  }
`);

export const PredictBatchMutation = graphql(
  `
    mutation RestPredictBatch($run: ID!, $dataset: ID!, $candidates: Boolean) {
      predictBatch(runId: $run, datasetId: $dataset, candidatesOnly: $candidates) {
        ...RestBatch
        rows(limit: 20, sortByClass: null) {
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
  `,
  [BatchFields],
);

export const ConfigureTestDataMutation = graphql(`
  mutation RestConfigureTestData($input: ConfigureSessionInput!) {
    configureSession(input: $input) {
      workflow {
        testDatasetId
      }
      latestSuccessfulRun {
        id
        datasetId
      }
    }
  }
`);

export const PredictReadinessQuery = graphql(
  `
    query RestPredictReadiness($id: ID!) {
      session(id: $id) {
        latestRun {
          status
        }
        latestSuccessfulRun {
          ...RestTrainedRun
        }
      }
    }
  `,
  [TrainedRunFields],
);

export const TestDataQuery = graphql(`
  query RestTestData($id: ID!, $max: Int!, $run: ID!) {
    session(id: $id) {
      testData(limit: $max, runId: $run) {
        kind
        datasetId
        rowCount
        rows {
          index
          ids
          values
          actual
        }
      }
    }
  }
`);

export type TestRowState = NonNullable<
  NonNullable<ResultOf<typeof TestDataQuery>['session']>['testData']
>['rows'][number];

/** One chunk of test rows (at most MAX_PREDICT_ROWS). */
export const PredictChunkQuery = graphql(`
  query RestPredictChunk($run: ID!, $rows: [JSON!]!) {
    predict(runId: $run, rows: $rows) {
      label
      confidence
      probabilities {
        label
        probability
      }
    }
  }
`);

export type RowPredictionState = ResultOf<typeof PredictChunkQuery>['predict'][number];

/** The reasons and contributions of one listed row. */
export const ExplainRowQuery = graphql(`
  query RestExplainRow($run: ID!, $row: JSON!) {
    explain(runId: $run, row: $row) {
      reasons
      contributions {
        feature
        contribution
      }
    }
  }
`);

export type RowExplanationState = ResultOf<typeof ExplainRowQuery>['explain'];

export const ResultRunQuery = graphql(
  `
    query RestResultRun($run: ID!) {
      trainingRun(id: $run) {
        ...RestTrainedRun
        metrics {
          ...RestMetrics
        }
        featureImportance {
          ...RestFeatureImportance
        }
        timings {
          fitSeconds
          totalSeconds
        }
        crossValidation {
          folds
          rows
          groupedBy
          summary {
            metric
            mean
            sd
          }
        }
        calibration {
          method
          fittedOn
          fittedRows
          description
          calibrationRows {
            before {
              brierScore
              logLoss
              expectedCalibrationError
            }
            after {
              brierScore
              logLoss
              expectedCalibrationError
            }
          }
          test {
            before {
              brierScore
              logLoss
              expectedCalibrationError
            }
            after {
              brierScore
              logLoss
              expectedCalibrationError
            }
          }
        }
        refit {
          on
          rows
          description
        }
      }
    }
  `,
  [TrainedRunFields, MetricsFields, FeatureImportanceFields],
);

export const LatestPredictionQuery = graphql(
  `
    query RestLatestPrediction($id: ID!) {
      session(id: $id) {
        latestPrediction {
          ...RestBatch
          rows(limit: 20) {
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
    }
  `,
  [BatchFields],
);

export const GlobalExplanationQuery = graphql(
  `
    query RestGlobalExplanation($run: ID!) {
      trainingRun(id: $run) {
        featureImportance {
          ...RestFeatureImportance
        }
      }
    }
  `,
  [FeatureImportanceFields],
);

export const ExplainInstanceQuery = graphql(`
  query RestExplainInstance($run: ID!, $row: JSON!, $label: String) {
    explain(runId: $run, row: $row, label: $label) {
      label
      outputSpace
      method
      baseValue
      output
      residual
      contributions {
        feature
        value
        contribution
      }
      reasons
      warnings
    }
  }
`);
