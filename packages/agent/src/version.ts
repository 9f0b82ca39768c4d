import pkg from '../package.json' with { type: 'json' };

/**
 * The agent's version. A JSON import rather than a file read at run time, so the bundle and the
 * single executable (which have no package.json beside them) carry it inlined.
 */
export const AGENT_VERSION = `v${pkg.version}`;
