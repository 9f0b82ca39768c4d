import pino, { type Logger } from 'pino';

/**
 * JSON lines for machines, pretty lines in a terminal. Redaction is a second guard: nothing should
 * log headers or bodies, but if something does, keys and tokens come out as [REDACTED].
 */
export function createLogger(level: string, name = 'bosun'): Logger {
  const redact = {
    paths: [
      'req.headers["x-api-key"]',
      'req.headers.authorization',
      'headers["x-api-key"]',
      'headers.authorization',
      '*.token',
      '*.secret',
      '*.password',
    ],
    censor: '[REDACTED]',
  };
  if (process.stdout.isTTY && !process.env.BOSUN_LOG_JSON) {
    return pino({
      name,
      level,
      redact,
      transport: {
        target: 'pino-pretty',
        options: { colorize: true, translateTime: 'HH:MM:ss.l', ignore: 'pid,hostname' },
      },
    });
  }
  return pino({ name, level, redact });
}
