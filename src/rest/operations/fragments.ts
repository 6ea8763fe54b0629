/**
 * The fragments REST's operations share (unmasked: the REST views read their fields directly). Their selections
 * are the fields the REST answers expose, so they are part of the REST contract.
 */
import { graphql, type ResultOf } from '../../client/graphql.js';

export const UploadedFileFields = graphql(`
  fragment RestUploadedFile on Dataset @_unmask {
    id
    name
    originalFileName
    sizeBytes
    createdAt
    rowCount
    columns {
      name
    }
  }
`);

export const SessionFields = graphql(
  `
    fragment RestSession on Session @_unmask {
      id
      datasetId
      modelType
      hyperparameters
      features
      task
      seed
      useVettingFeatures
      ready
      missing
      maxTrainingSeconds
      warnings
      createdAt
      updatedAt
      dataset {
        id
        name
        kind
        mission
        available
      }
      split {
        train
        validation
        test
      }
      latestRun {
        id
        status
        stage
        progress
        step
        totalSteps
        message
      }
      workflow {
        currentStep
        maxStep
        trainingReady
        dataSource
        preprocessingConfig
        testDatasetId
        stepProgress {
          step1Complete
          step2Complete
          step3Complete
        }
        uploadedDataset {
          ...RestUploadedFile
        }
      }
    }
  `,
  [UploadedFileFields],
);

export const DatasetFields = graphql(`
  fragment RestDataset on Dataset @_unmask {
    id
    name
    kind
    mission
    available
    hint
    rowCount
    labelColumn
    classes
    featureColumns
    classCounts {
      label
      count
    }
    createdAt
  }
`);

export const ModelFields = graphql(`
  fragment RestModel on ModelType @_unmask {
    id
    name
    description
    family
    aliases
    explanation
    tfBackend
    hyperparameters {
      name
      type
      default
      min
      minExclusive
      max
      choices
      nullable
      specialValues
      allowed
      description
    }
  }
`);

export const RunProgressFields = graphql(`
  fragment RestRunProgress on TrainingRun @_unmask {
    id
    status
    stage
    progress
    step
    totalSteps
    message
    queuePosition
    error
    createdAt
    startedAt
    finishedAt
    modelType
    datasetId
    timings {
      totalSeconds
      fitSeconds
    }
  }
`);

export const TrainedRunFields = graphql(`
  fragment RestTrainedRun on TrainingRun @_unmask {
    id
    status
    modelType
    datasetId
    features
    hyperparameters
    finishedAt
    metrics {
      accuracy
      macroF1
      classes
    }
    splitCounts {
      train
      validation
      test
    }
  }
`);

export const MetricsFields = graphql(`
  fragment RestMetrics on Metrics @_unmask {
    numSamples
    classes
    accuracy
    balancedAccuracy
    macroPrecision
    macroRecall
    macroF1
    weightedF1
    rocAucOvr
    prAucMacro
    logLoss
    usesVettingFeatures
    majorityBaselineAccuracy
    majorityBaselineMacroF1
    perClass {
      label
      precision
      recall
      f1
      support
      rocAuc
      prAuc
    }
    confusionMatrix {
      labels
      matrix
    }
  }
`);

export const BatchFields = graphql(`
  fragment RestBatch on PredictionBatch @_unmask {
    id
    runId
    datasetId
    source
    rowCount
    classes
    csvUrl
    createdAt
    summary {
      rowCount
      counts {
        label
        count
      }
      meanConfidence
      meanProbabilities {
        label
        probability
      }
      rowsWithoutFeatures
      missingFeatures
    }
  }
`);

export const FeatureImportanceFields = graphql(`
  fragment RestFeatureImportance on FeatureImportance @_unmask {
    feature
    importance
    permutationImportance
    permutationMean
    permutationStd
  }
`);

export type SessionState = ResultOf<typeof SessionFields>;
export type UploadedFile = ResultOf<typeof UploadedFileFields>;
export type RunProgress = ResultOf<typeof RunProgressFields>;
export type TrainedRun = ResultOf<typeof TrainedRunFields>;
