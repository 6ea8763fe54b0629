/**
 * The operations of the session, catalog and upload routes.
 */
import { graphql, type ResultOf, type VariablesOf } from '../../client/graphql.js';
import { DatasetFields, ModelFields, SessionFields } from './fragments.js';

export const SessionQuery = graphql(
  `
    query RestSession($id: ID!) {
      session(id: $id) {
        ...RestSession
      }
    }
  `,
  [SessionFields],
);

export const CreateSessionMutation = graphql(
  `
    mutation RestCreateSession {
      createSession {
        ...RestSession
      }
    }
  `,
  [SessionFields],
);

export const NextSessionStepMutation = graphql(
  `
    mutation RestNextSessionStep($id: ID!) {
      nextSessionStep(sessionId: $id) {
        ...RestSession
      }
    }
  `,
  [SessionFields],
);

export const SetSessionStepMutation = graphql(
  `
    mutation RestSetSessionStep($id: ID!, $step: Int!) {
      setSessionStep(sessionId: $id, step: $step) {
        ...RestSession
      }
    }
  `,
  [SessionFields],
);

export const ConfigureSessionMutation = graphql(
  `
    mutation RestConfigureSession($input: ConfigureSessionInput!) {
      configureSession(input: $input) {
        ...RestSession
      }
    }
  `,
  [SessionFields],
);

/** The input of configureSession, as the schema declares it. */
export type ConfigureSessionInput = VariablesOf<typeof ConfigureSessionMutation>['input'];

export const DeleteSessionMutation = graphql(`
  mutation RestDeleteSession($id: ID!) {
    deleteSession(id: $id)
  }
`);

export const DeleteDatasetMutation = graphql(`
  mutation RestDeleteDataset($id: ID!) {
    deleteDataset(id: $id)
  }
`);

export const CatalogsQuery = graphql(
  `
    query RestCatalogs {
      datasets {
        ...RestDataset
      }
      models {
        ...RestModel
      }
    }
  `,
  [DatasetFields, ModelFields],
);

export const DatasetsQuery = graphql(
  `
    query RestDatasets {
      datasets {
        ...RestDataset
      }
    }
  `,
  [DatasetFields],
);

export const ModelsQuery = graphql(
  `
    query RestModels {
      models {
        ...RestModel
      }
    }
  `,
  [ModelFields],
);

/** The catalog as GET /api/hyperparameters/<model_type> turns it into form fields. */
export const HyperparameterFormsQuery = graphql(`
  query RestHyperparameterForms {
    models {
      id
      name
      aliases
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
  }
`);

export const HealthQuery = graphql(`
  query RestHealth {
    health {
      status
      version
      uptimeSeconds
      tfBackend
      queuedRuns
      runningRuns
      nodeVersion
    }
    sessionCount
  }
`);

export const UploadDatasetMutation = graphql(
  `
    mutation RestUploadDataset($file: File!, $name: String, $label: String) {
      uploadDataset(file: $file, name: $name, labelColumn: $label) {
        ...RestDataset
        originalFileName
        sizeBytes
        columns {
          name
          type
          missingShare
        }
      }
    }
  `,
  [DatasetFields],
);

export type UploadedDataset = ResultOf<typeof UploadDatasetMutation>['uploadDataset'];
