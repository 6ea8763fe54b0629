/**
 * `npm run test:engines`: the whole test suite (or the files given) against real engines. Starts a throw-away
 * PostgreSQL and Redis (test/fixtures/engines.ts), runs `vitest run` with DATABASE_URL (an admin URL: the test harness
 * makes a fresh database per server) and REDIS_URL set, stops both, and exits with vitest's code.
 *
 *   npm run test:engines                       # everything
 *   npm run test:engines -- test/integration   # a part
 */
import { spawn } from 'node:child_process';
import { startPostgres, startRedis } from '../fixtures/engines.js';

const started = Date.now();
const [postgres, redis] = await Promise.all([startPostgres(), startRedis()]);
process.stdout.write(`engines up in ${Date.now() - started} ms: ${postgres.url}, ${redis.url}\n`);

let code: number;
try {
  code = await new Promise<number>((resolve, reject) => {
    const child = spawn('npx', ['vitest', 'run', ...process.argv.slice(2)], {
      stdio: 'inherit',
      env: { ...process.env, DATABASE_URL: postgres.url, REDIS_URL: redis.url },
    });
    const forward = (signal: NodeJS.Signals) => child.kill(signal);
    process.once('SIGINT', forward);
    process.once('SIGTERM', forward);
    child.once('error', reject);
    child.once('exit', (exitCode, signal) => {
      resolve(exitCode ?? (signal ? 1 : 0));
    });
  });
} finally {
  await Promise.allSettled([postgres.stop(), redis.stop()]);
}
process.exit(code);
