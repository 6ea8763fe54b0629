import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config.js';

describe('loadConfig', () => {
  it('has the documented defaults', () => {
    const config = loadConfig({}, '/srv/app');
    expect(config).toMatchObject({
      nodeEnv: 'development',
      port: 5000,
      host: '127.0.0.1',
      secretKey: null,
      databasePath: path.resolve('/srv/app', 'data/playground.db'),
      uploadDir: path.resolve('/srv/app', 'uploads'),
      nasaDataDir: path.resolve('/srv/app', 'data/nasa'),
      nasaEmbeddedSnapshot: true,
      maxUploadBytes: 50 * 1024 * 1024,
    });
    expect(config.corsOrigins).toContain('http://localhost:5173');
    expect(config.trainingConcurrency).toBeGreaterThanOrEqual(1);
  });

  it('refuses production without SECRET_KEY, naming the variable', () => {
    expect(() => loadConfig({ NODE_ENV: 'production' })).toThrow(ConfigError);
    expect(() => loadConfig({ NODE_ENV: 'production' })).toThrow(/SECRET_KEY/);
    const config = loadConfig({ NODE_ENV: 'production', SECRET_KEY: 'a-long-enough-secret-value' });
    expect(config.corsOrigins).toEqual([]);
    expect(config.host).toBe('0.0.0.0');
  });

  it.each([
    ['PORT', 'abc'],
    ['PORT', '70000'],
    ['MAX_UPLOAD_MB', '0'],
    ['TRAINING_CONCURRENCY', '-1'],
    ['NODE_ENV', 'staging'],
    ['CORS_ORIGINS', 'not a url'],
    ['LOG_LEVEL', 'loud'],
  ])('stops on a bad %s (%s) with a message naming it', (name, value) => {
    let error: unknown;
    try {
      loadConfig({ [name]: value });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).variable).toBe(name);
    expect((error as Error).message).toContain(name);
  });

  it('reads lists and numbers', () => {
    const config = loadConfig({
      CORS_ORIGINS: 'https://a.example, https://b.example',
      MAX_UPLOAD_MB: '5',
      TRAINING_CONCURRENCY: '3',
      PORT: '0',
    });
    expect(config.corsOrigins).toEqual(['https://a.example', 'https://b.example']);
    expect(config.maxUploadBytes).toBe(5 * 1024 * 1024);
    expect(config.trainingConcurrency).toBe(3);
    expect(config.port).toBe(0);
  });
});
