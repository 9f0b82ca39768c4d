/**
 * The server under load, in a process of its own so its CPU (and `--cpu-prof`) is the server's alone:
 * `bare` is a bare Fastify answering a small JSON (the HTTP ceiling of this machine and client),
 * `bosun` is the real server (startServer, as the tests run it) over a fresh database with a seeded
 * deployment world. Reports `{ url, … }` over IPC once listening; exits on the message `stop`.
 */
import Fastify from 'fastify';
import { seedDeploymentWorld } from '../../packages/server/test/support-deployments.ts';
import { startTestServer } from '../../test/support/server.ts';
import type { TestEngine } from '../../test/support/store.ts';

const [mode, engine = 'sqlite', devicesArg = '160'] = process.argv.slice(2);
let close: () => Promise<void>;

if (mode === 'bare') {
  const app = Fastify({ logger: false });
  app.get('/ok', async () => ({ ok: true, object: 'health' }));
  const url = await app.listen({ port: 0, host: '127.0.0.1' });
  close = () => app.close();
  process.send!({ url });
} else {
  const t = await startTestServer({ engine: engine as TestEngine });
  const world = await seedDeploymentWorld(t.server.app.store.db, {
    devices: Number(devicesArg),
    extraReleases: 4,
  });
  close = () => t.close();
  process.send!({
    url: t.url,
    adminKey: t.adminKey,
    world,
  });
}

process.on('message', async (m) => {
  if (m !== 'stop') return;
  await close();
  // A normal exit, so `--cpu-prof` writes its profile.
  process.exit(0);
});
