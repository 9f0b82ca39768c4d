/**
 * Seeded randomness for the crash tests, so a failing kill point can be replayed: the seed comes from
 * the named environment variable or is drawn at random, and is printed either way.
 */
export interface SeededRandom {
  seed: number;
  /** A float in [0, 1). */
  next(): number;
  /** Describes how to replay this run (for logs and assertion messages). */
  replay: string;
}

export function seededRandom(envName: string): SeededRandom {
  const fromEnv = process.env[envName];
  const seed = fromEnv ? Number(fromEnv) >>> 0 : Math.floor(Math.random() * 2 ** 32);
  // mulberry32: small, fast and good enough to spread kill points.
  let a = seed;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
  return { seed, next, replay: `${envName}=${seed}` };
}
