/**
 * The operations of the final version's API (custom training, pretrained predictions).
 */
import { graphql, type ResultOf } from '../../client/graphql.js';

export const UploadForTrainingMutation = graphql(`
  mutation RestUploadForTraining($file: File!) {
    uploadDataset(file: $file) {
      id
      mission
    }
  }
`);

export const CreateSessionIdMutation = graphql(`
  mutation RestCreateSessionId {
    createSession {
      id
    }
  }
`);

export const ConfigureSessionIdMutation = graphql(`
  mutation RestConfigureSessionId($input: ConfigureSessionInput!) {
    configureSession(input: $input) {
      id
    }
  }
`);

export const StartTrainingIdMutation = graphql(`
  mutation RestStartTrainingId($id: ID!) {
    startTraining(sessionId: $id) {
      id
    }
  }
`);

export const LatestRunStateQuery = graphql(`
  query RestLatestRunState($id: ID!) {
    session(id: $id) {
      latestRun {
        id
        status
        stage
        progress
        message
        error
      }
    }
  }
`);

export type RunState = NonNullable<NonNullable<ResultOf<typeof LatestRunStateQuery>['session']>['latestRun']>;

export const SucceededRunQuery = graphql(`
  query RestSucceededRun($id: ID!) {
    session(id: $id) {
      latestSuccessfulRun {
        id
        modelType
        datasetId
        features
        splitCounts {
          train
          test
        }
        metrics {
          accuracy
          macroF1
          macroPrecision
          macroRecall
          classes
          confusionMatrix {
            labels
            matrix
          }
        }
      }
    }
  }
`);

export type ResultRun = NonNullable<NonNullable<ResultOf<typeof SucceededRunQuery>['session']>['latestSuccessfulRun']>;
