/**
 * The operations of `POST /training` with a search and of `GET /training` while a search is the session's latest.
 */
import { graphql, type ResultOf } from '../../client/graphql.js';

export const SearchProgressFields = graphql(`
  fragment RestSearchProgress on Search @_unmask {
    id
    status
    strategy
    scoring
    modelTypes
    cvFolds
    budgetSeconds
    maxTrials
    seed
    message
    error
    queuePosition
    createdAt
    startedAt
    finishedAt
    trials {
      trial
      status
    }
    leaderboard {
      trial
      modelType
      params
      rung
      score
      sd
      fitSeconds
    }
    bestRun {
      id
      status
    }
  }
`);

export const StartSearchMutation = graphql(
  `
    mutation RestStartSearch($id: ID!, $input: SearchInput!) {
      startSearch(sessionId: $id, input: $input) {
        ...RestSearchProgress
      }
    }
  `,
  [SearchProgressFields],
);

export const LatestSearchQuery = graphql(
  `
    query RestLatestSearch($id: ID!) {
      searches(sessionId: $id) {
        ...RestSearchProgress
      }
    }
  `,
  [SearchProgressFields],
);

export type SearchProgress = ResultOf<typeof SearchProgressFields>;
