/** POST a GraphQL operation to a benchmark server; throws on errors (set-up calls, outside measured windows). */
export async function gql<T>(url: string, query: string, variables: Record<string, unknown> = {}): Promise<T> {
  const response = await fetch(`${url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/graphql-response+json' },
    body: JSON.stringify({ query, variables }),
  });
  const body = (await response.json()) as { data?: T; errors?: unknown[] };
  if (!body.data || body.errors?.length) throw new Error(`GraphQL errors: ${JSON.stringify(body.errors)}`);
  return body.data;
}

/**
 * Trains the benchmarks' reference model through the API: a Kepler random forest of 100 trees (seed 1), polled
 * until it succeeds. Returns its run id.
 */
export async function trainKeplerForest(url: string): Promise<string> {
  const { createSession } = await gql<{ createSession: { id: string } }>(url, 'mutation { createSession { id } }');
  await gql(
    url,
    'mutation ($s: ID!) { configureSession(input: { sessionId: $s, datasetId: "kepler", modelType: "random_forest", hyperparameters: { n_estimators: 100 }, seed: 1 }) { id } }',
    { s: createSession.id },
  );
  const { startTraining } = await gql<{ startTraining: { id: string } }>(
    url,
    'mutation ($s: ID!) { startTraining(sessionId: $s) { id } }',
    { s: createSession.id },
  );
  for (;;) {
    const { trainingRun } = await gql<{ trainingRun: { status: string; error: string | null } }>(
      url,
      'query ($r: ID!) { trainingRun(id: $r) { status error } }',
      { r: startTraining.id },
    );
    if (trainingRun.status === 'SUCCEEDED') return startTraining.id;
    if (['FAILED', 'CANCELLED'].includes(trainingRun.status))
      throw new Error(`training ${trainingRun.status}: ${trainingRun.error}`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}
