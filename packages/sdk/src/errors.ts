/** The error envelope every non-200 answer of the platform API carries (docs/decisions.md #1). */
export interface ErrorEnvelope {
  error: { code: string; message: string; params: Record<string, unknown> };
}

/** The server answered with an error status; `code`, `message` and `params` come from its envelope. */
export class BosunApiError extends Error {
  override readonly name = 'BosunApiError';
  readonly code: string;
  readonly params: Record<string, unknown>;

  constructor(
    readonly status: number,
    readonly envelope: ErrorEnvelope,
    readonly method: string,
    readonly path: string,
    readonly requestId: string | undefined,
  ) {
    super(envelope.error.message);
    this.code = envelope.error.code;
    this.params = envelope.error.params;
  }
}

/** The server could not be reached (or kept failing) after every retry. */
export class BosunNetworkError extends Error {
  override readonly name = 'BosunNetworkError';
  constructor(
    message: string,
    readonly method: string,
    readonly url: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/**
 * Turns any non-200 body into an envelope: a body that is not one (a proxy's HTML page, an empty
 * 502) still yields a typed error that names the status.
 */
export function toEnvelope(status: number, text: string): ErrorEnvelope {
  try {
    const parsed = JSON.parse(text) as Partial<ErrorEnvelope>;
    const e = parsed?.error;
    if (e && typeof e.code === 'string' && typeof e.message === 'string') {
      return { error: { code: e.code, message: e.message, params: e.params ?? {} } };
    }
  } catch {}
  const snippet = text.trim().slice(0, 200);
  return {
    error: {
      code: `http_${status}`,
      message: `HTTP ${status}${snippet ? `: ${snippet}` : ''}`,
      params: {},
    },
  };
}
