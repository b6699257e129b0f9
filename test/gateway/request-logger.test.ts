/**
 * The gateway's request loggers: fastify asks for a child logger per request; it is made only
 * when the request logs, and then carries the request id and the same redaction as every log.
 */
import { Writable } from 'node:stream';
import Fastify, { type FastifyBaseLogger } from 'fastify';
import { pino } from 'pino';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { lazyRequestLogger } from '../../gateway/http/lazy-request-logger.js';
import { REDACTED_KEYS } from '../../shared/logger.js';

function capture() {
  const lines: Array<Record<string, unknown>> = [];
  const stream = new Writable({
    write(chunk, _encoding, done) {
      for (const line of String(chunk).split('\n').filter(Boolean)) lines.push(JSON.parse(line));
      done();
    },
  });
  const logger = pino({ level: 'info', redact: { paths: [...REDACTED_KEYS], censor: '[redacted]' } }, stream);
  return { logger, lines };
}

describe('request loggers', () => {
  const apps: Array<{ close(): Promise<unknown> }> = [];
  afterEach(async () => {
    for (const app of apps.splice(0)) await app.close();
  });

  it('makes no child logger for a request that logs nothing, and a full one for one that logs', async () => {
    const { logger, lines } = capture();
    const child = vi.spyOn(logger, 'child');
    const app = Fastify({
      loggerInstance: logger as FastifyBaseLogger,
      disableRequestLogging: true,
      childLoggerFactory: lazyRequestLogger,
    });
    apps.push(app);
    app.get('/quiet', async (request) => {
      request.log.debug('below the level: not written');
      return { ok: true };
    });
    app.get('/loud', async (request) => {
      request.log.warn({ token: 'a-device-token' }, 'something to say');
      return { ok: true };
    });
    await app.ready();
    child.mockClear(); // fastify's own, at start-up
    expect((await app.inject({ method: 'GET', url: '/quiet' })).statusCode).toBe(200);
    expect(child).not.toHaveBeenCalled();
    expect(lines).toEqual([]);

    expect((await app.inject({ method: 'GET', url: '/loud' })).statusCode).toBe(200);
    expect(child).toHaveBeenCalledTimes(1);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({ msg: 'something to say', token: '[redacted]', level: 40 });
    expect(typeof lines[0]?.reqId).toBe('string');
  });

  it('keeps a route-level log level', () => {
    const { logger, lines } = capture();
    const request = lazyRequestLogger(logger as FastifyBaseLogger, { reqId: 'req-1' }, { level: 'debug' });
    expect(request.level).toBe('debug');
    request.debug('written at the route level');
    expect(lines).toMatchObject([{ msg: 'written at the route level', reqId: 'req-1' }]);
  });
});
