import pino, { type Logger } from 'pino';

/**
 * JSON lines on stdout (journald picks them up under systemd). Nothing logs tokens or keys; the
 * redaction is a second guard in case a future log line carries one.
 */
export function createAgentLogger(level = 'info'): Logger {
  return pino({
    name: 'bosun-agent',
    level,
    redact: {
      paths: [
        'token',
        '*.token',
        'password',
        '*.password',
        'authorization',
        '*.authorization',
        'private_key',
      ],
      censor: '[REDACTED]',
    },
  });
}
