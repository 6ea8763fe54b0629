import { describe, expect, it } from 'vitest';
import { createLogger, type LogLevel } from '../../src/logger.js';

describe('createLogger', () => {
  it('says which levels it writes, as it writes them (children alike)', () => {
    const levels: LogLevel[] = ['debug', 'info', 'warn', 'error'];
    for (const level of [...levels, 'silent'] as const) {
      const lines: string[] = [];
      const logger = createLogger(level, { app: 'x' }, (line) => lines.push(line));
      const child = logger.child({ requestId: 'r1' });
      for (const lvl of levels) {
        const before = lines.length;
        child[lvl]('m', { n: 1 });
        expect(lines.length - before === 1, `${level} writes ${lvl}`).toBe(logger.enabled(lvl));
        expect(child.enabled(lvl)).toBe(logger.enabled(lvl));
      }
    }
    const lines: string[] = [];
    createLogger('info', { app: 'x' }, (line) => lines.push(line))
      .child({ requestId: 'r1' })
      .warn('m', { n: 1 });
    expect(JSON.parse(lines[0])).toMatchObject({ level: 'warn', msg: 'm', app: 'x', requestId: 'r1', n: 1 });
  });
});
