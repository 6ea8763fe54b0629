/**
 * The REST side of the one error model: every code has its HTTP status, a GraphQL error is read back into the
 * AppError its resolver threw by `extensions.code`, and the envelope writer puts the message, code, field and the
 * headers the error carries (Retry-After, Allow) on the wire. Also the bound on remembered pretrained jobs.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AppError, ERROR_CODES, databaseBusy, notFound } from '../../src/domain/errors.js';
import { REST_STATUS, appErrorFromGraphQL, sendErrorEnvelope, type Envelope } from '../../src/rest/errors.js';
import { rememberJob } from '../../src/rest/routes/custom.js';

describe('REST_STATUS', () => {
  it('gives every application code a 4xx or 5xx status', () => {
    for (const code of ERROR_CODES) {
      expect(REST_STATUS[code], code).toBeGreaterThanOrEqual(400);
      expect(REST_STATUS[code], code).toBeLessThan(600);
    }
    expect(REST_STATUS.BAD_USER_INPUT).toBe(400);
    expect(REST_STATUS.SERVICE_UNAVAILABLE).toBe(503);
  });
});

describe('appErrorFromGraphQL', () => {
  it('reads code, field and allowed from the extensions', () => {
    const error = appErrorFromGraphQL({
      message: 'n_estimators must be an integer from 1 to 1000.',
      extensions: {
        code: 'BAD_USER_INPUT',
        field: 'hyperparameters.n_estimators',
        allowed: 'an integer from 1 to 1000',
      },
    });
    expect(error).toBeInstanceOf(AppError);
    expect(error).toMatchObject({
      code: 'BAD_USER_INPUT',
      message: 'n_estimators must be an integer from 1 to 1000.',
      field: 'hyperparameters.n_estimators',
      allowed: 'an integer from 1 to 1000',
    });
  });

  it('gives SERVICE_UNAVAILABLE its retry delay', () => {
    const busy = databaseBusy();
    expect(appErrorFromGraphQL({ message: busy.message, extensions: { code: busy.code } })?.retryAfterSeconds).toBe(
      busy.retryAfterSeconds,
    );
    expect(
      appErrorFromGraphQL({ message: 'busy', extensions: { code: 'SERVICE_UNAVAILABLE', retryAfterSeconds: 5 } })
        ?.retryAfterSeconds,
    ).toBe(5);
  });

  it('is null for codes that are not the application’s (masked errors, invalid documents) and without a code', () => {
    expect(appErrorFromGraphQL({ message: 'Unexpected error.', extensions: { code: 'INTERNAL_SERVER_ERROR' } })).toBe(
      null,
    );
    expect(appErrorFromGraphQL({ message: 'x', extensions: { code: 'GRAPHQL_VALIDATION_FAILED' } })).toBe(null);
    expect(appErrorFromGraphQL({ message: 'Variable "$id" of required type "ID!" was not provided.' })).toBe(null);
  });
});

describe('sendErrorEnvelope', () => {
  let server: http.Server;
  let next: { envelope: Envelope; error: AppError | null };
  let url: string;
  beforeAll(async () => {
    server = http.createServer((_req, res) => {
      sendErrorEnvelope(res, next.envelope, next.error);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${String((server.address() as AddressInfo).port)}/`;
  });
  afterAll(() => new Promise((resolve) => server.close(resolve)));

  async function answer(envelope: Envelope, error: AppError | null) {
    next = { envelope, error };
    const response = await fetch(url);
    return { status: response.status, headers: response.headers, body: (await response.json()) as unknown };
  }

  it('writes the original envelope with the status of the code and the field at fault', async () => {
    const { status, body } = await answer(
      'original',
      new AppError('BAD_USER_INPUT', '"step" is bad.', { field: 'step' }),
    );
    expect(status).toBe(400);
    expect(body).toEqual({ status: 'error', error: '"step" is bad.', code: 'BAD_USER_INPUT', field: 'step' });
  });

  it('writes the final API’s envelope', async () => {
    const { status, body } = await answer('success-flag', notFound('Session', 'ses_x'));
    expect(status).toBe(404);
    expect(body).toEqual({ success: false, error: 'Session "ses_x" was not found.', code: 'NOT_FOUND' });
  });

  it('takes Retry-After from the error and Allow from a 405’s allowed methods', async () => {
    const busy = await answer('original', databaseBusy());
    expect(busy.status).toBe(503);
    expect(busy.headers.get('retry-after')).toBe(String(databaseBusy().retryAfterSeconds));
    const method = await answer(
      'original',
      new AppError('METHOD_NOT_ALLOWED', 'PUT is not allowed.', { allowed: ['GET', 'POST'] }),
    );
    expect(method.status).toBe(405);
    expect(method.headers.get('allow')).toBe('GET, POST');
    expect(method.headers.get('retry-after')).toBeNull();
  });

  it('answers an unexpected error 500 with the masked message only', async () => {
    const { status, body } = await answer('original', null);
    expect(status).toBe(500);
    expect(body).toEqual({ status: 'error', error: 'Unexpected error.', code: 'INTERNAL_SERVER_ERROR' });
  });
});

describe('rememberJob', () => {
  it('keeps the newest jobs up to the bound, forgetting the oldest first', () => {
    const jobs = new Map<string, string>();
    for (let i = 0; i < 5; i++) rememberJob(jobs, `job${String(i)}`, `model${String(i % 2)}`, 3);
    expect([...jobs.keys()]).toEqual(['job2', 'job3', 'job4']);
    expect(jobs.get('job4')).toBe('model0');
  });
});
