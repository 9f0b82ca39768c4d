import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBase62 } from '@bosun/core';
import { generateApiKeySecret } from '@bosun/server';
import SQLite from 'better-sqlite3';
import pg from 'pg';
import { afterEach, describe, expect, it } from 'vitest';
import { API_VERSION, repoRoot } from './support/bosun-server.ts';

/**
 * Replicas that start together (issue 19 item 5, docs/decisions.md #58): N real `bosun server`
 * processes started at the same moment on one empty database, repeatedly, each round on a fresh
 * database. Every one must come up; exactly one admin key exists afterwards; a generated key is
 * printed by exactly one replica, and every replica accepts it.
 */
const BIN = join(repoRoot, 'packages', 'cli', 'bin', 'bosun.mjs');
const REPLICAS = 3;
const ROUNDS = Number(process.env.BOSUN_REPLICA_START_ROUNDS ?? 2);
const baseUrl = process.env.BOSUN_TEST_DATABASE_URL;

interface Replica {
  child: ChildProcess;
  output: string;
  url: Promise<string>;
}

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

function startReplica(env: NodeJS.ProcessEnv): Replica {
  const child = spawn(process.execPath, [BIN, 'server', '--port', '0', '--host', '127.0.0.1'], {
    cwd: repoRoot,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const replica: Replica = { child, output: '', url: Promise.resolve('') };
  replica.url = new Promise<string>((resolve, reject) => {
    const keep = (d: Buffer) => {
      replica.output += d.toString();
      const m = /"url":"(http:\/\/[^"]+)"[^\n]*bosun server listening/.exec(replica.output);
      if (m) resolve(m[1]!);
    };
    child.stdout!.on('data', keep);
    child.stderr!.on('data', keep);
    child.on('exit', (code, signal) =>
      reject(new Error(`replica exited (${code ?? signal}) while starting:\n${replica.output.slice(-3000)}`)),
    );
  });
  cleanups.push(async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGTERM');
    await exited;
  });
  return replica;
}

function replicaEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('BOSUN_')) env[k] = v;
  return { ...env, BOSUN_LOG_LEVEL: 'info', ...extra };
}

async function principal(url: string, key: string): Promise<number> {
  const res = await fetch(`${url}/beta/principal`, {
    headers: { 'miru-version': API_VERSION, 'x-api-key': key },
  });
  await res.arrayBuffer();
  return res.status;
}

interface FreshDatabase {
  env: Record<string, string>;
  count: (sql: string) => Promise<number>;
}

/** A fresh data directory: the replicas share its SQLite file. */
function freshSqlite(): FreshDatabase {
  const dataDir = mkdtempSync(join(tmpdir(), 'bosun-replicas-'));
  cleanups.push(() => rmSync(dataDir, { recursive: true, force: true }));
  return {
    env: { BOSUN_DATA_DIR: dataDir },
    async count(sql) {
      const db = new SQLite(join(dataDir, 'bosun.db'), { readonly: true });
      try {
        return Number((db.prepare(sql).get() as { n: number }).n);
      } finally {
        db.close();
      }
    },
  };
}

/** A fresh PostgreSQL database (not only a schema) per round, dropped afterwards. */
async function freshPostgres(): Promise<FreshDatabase> {
  const name = `bosun_start_${randomBase62(10).toLowerCase()}`;
  const admin = new pg.Client({ connectionString: baseUrl });
  await admin.connect();
  await admin.query(`create database ${name}`);
  await admin.end();
  const url = new URL(baseUrl!);
  url.pathname = `/${name}`;
  cleanups.push(async () => {
    const c = new pg.Client({ connectionString: baseUrl });
    await c.connect();
    await c.query(`drop database if exists ${name} with (force)`);
    await c.end();
  });
  const dataDir = mkdtempSync(join(tmpdir(), 'bosun-replicas-'));
  cleanups.push(() => rmSync(dataDir, { recursive: true, force: true }));
  return {
    env: { BOSUN_DATABASE_URL: url.toString(), BOSUN_DATA_DIR: dataDir },
    async count(sql) {
      const c = new pg.Client({ connectionString: url.toString() });
      await c.connect();
      try {
        return Number((await c.query(sql)).rows[0].n);
      } finally {
        await c.end();
      }
    },
  };
}

const engines = baseUrl ? (['postgres', 'sqlite'] as const) : (['sqlite'] as const);

describe.each(engines)('replicas started together on an empty database (%s)', (engine) => {
  for (const mode of ['generated', 'provided'] as const) {
    it(`${REPLICAS} replicas × ${ROUNDS} rounds, admin key ${mode}`, async () => {
      for (let round = 0; round < ROUNDS; round++) {
        const db = engine === 'postgres' ? await freshPostgres() : freshSqlite();
        const provided = mode === 'provided' ? generateApiKeySecret() : undefined;
        const env = replicaEnv({
          ...db.env,
          ...(provided ? { BOSUN_BOOTSTRAP_API_KEY: provided } : {}),
        });
        const replicas = Array.from({ length: REPLICAS }, () => startReplica(env));
        const urls = await Promise.all(replicas.map((r) => r.url));

        expect(await db.count('select count(*) as n from api_keys'), `round ${round}`).toBe(1);
        const banners = replicas.filter((r) => r.output.includes('Bosun created an admin API key'));
        let key = provided;
        if (mode === 'generated') {
          expect(banners.length, `round ${round}: replicas that printed a key`).toBe(1);
          key = /^ {3}(bsn_\w+)$/m.exec(banners[0]!.output)?.[1];
        } else expect(banners).toEqual([]);
        expect(key).toBeDefined();
        for (const url of urls) expect(await principal(url, key!)).toBe(200);
        expect(await db.count('select count(*) as n from kysely_migration')).toBeGreaterThan(0);

        for (const c of cleanups.splice(0).reverse()) await c();
      }
    });
  }
});
