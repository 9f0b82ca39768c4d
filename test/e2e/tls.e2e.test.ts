import { existsSync, readFileSync } from 'node:fs';
import { createNodeFetch } from '@bosun/sdk/node-fetch';
import { generateApiKeySecret, type RunningServer, startServer } from '@bosun/server';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dynsecPlugin, mosquittoBinary, OwnMosquitto } from '../reliability/support/services.ts';
import { createTestDatabase, httpEngine, type TestDatabase } from '../support/store.ts';
import { makeTestPki, type TestPki } from '../support/tls-certs.ts';
import { AgentProcess, freePort, waitFor } from './support/fleet.ts';
import { Platform, provisionAgent } from './support/platform.ts';

/**
 * TLS with a fleet's own CA (docs/decisions.md #85): the server serves HTTPS from
 * BOSUN_TLS_CERT_FILE/KEY_FILE, an agent provisioned with `--ca-file` reaches it over https and the
 * broker over wss (embedded) or mqtts (Mosquitto's TLS listener), and an agent without that CA, or
 * with another one, is refused with a clear error instead of falling back to anything.
 */

const tag = Math.random().toString(36).slice(2, 8);
const UNTRUSTED = /not signed by a trusted CA: provision with --ca-file/;
/** The agent logged a push-channel connection to a broker URL with this scheme. */
const pushedOver = (a: AgentProcess, scheme: string) =>
  a.log
    .split('\n')
    .some((l) => l.includes('push channel connected') && l.includes(`"broker":"${scheme}://127.0.0.1:`));

async function tlsServer(
  pki: TestPki,
  database: TestDatabase,
  adminKey: string,
  mqtt: { mqttUrl?: string; mqttAuth?: 'dynsec'; mqttPublicUrl?: string } = {},
): Promise<RunningServer> {
  return startServer(
    {
      port: await freePort(),
      host: '127.0.0.1',
      dataDir: database.dataDir,
      databaseUrl: database.databaseUrl,
      logLevel: 'silent',
      bootstrapApiKey: adminKey,
      tls: { cert: readFileSync(pki.certFile, 'utf8'), key: readFileSync(pki.keyFile, 'utf8') },
      ...mqtt,
    },
    { logger: pino({ level: process.env.BOSUN_TEST_LOG_LEVEL ?? 'silent' }), pgSchema: database.pgSchema },
  );
}

describe('TLS with a private CA, embedded broker', () => {
  let pki: TestPki;
  let database: TestDatabase;
  let server: RunningServer;
  let platform: Platform;
  const agents: AgentProcess[] = [];
  const agent = (args: string[] = []) => {
    const a = new AgentProcess(args);
    agents.push(a);
    return a;
  };

  beforeAll(async () => {
    pki = makeTestPki();
    database = createTestDatabase(httpEngine());
    const adminKey = generateApiKeySecret();
    server = await tlsServer(pki, database, adminKey);
    platform = new Platform(server.url, adminKey, createNodeFetch({ ca: readFileSync(pki.caFile) }));
  });
  afterAll(async () => {
    for (const a of agents) await a.stop();
    await server?.close();
    await database?.destroy();
    pki?.destroy();
  });

  it('serves https only: the URL says so and plain http on that port gets no API', async () => {
    expect(server.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    const plain = server.url.replace('https:', 'http:');
    const answer = await createNodeFetch({})(`${plain}/healthz`, {}).then(
      (r) => r.status,
      () => 'refused',
    );
    expect(answer).not.toBe(200);
  });

  it('an agent given the CA at provisioning applies deployments over https, with push over wss', async () => {
    const a = agent();
    const device = await platform.newDevice(`tls-a-${tag}`);
    const out = await provisionAgent(server.url, a.stateDir, device.token, ['--ca-file', pki.caFile]);
    expect(out.code, out.stderr).toBe(0);
    // Kept for `run`, which is not told again.
    expect(readFileSync(`${a.stateDir}/identity/ca.pem`, 'utf8')).toContain('BEGIN CERTIFICATE');
    a.start();
    const rel = await platform.release(`tls-${tag}`, '/etc/robot/tls.json');
    await platform.deploy(device.id, rel, '{"speed": 1}');
    await waitFor('the first file', async () =>
      readFileSync(a.path('/etc/robot/tls.json'), 'utf8').includes('1'),
    );
    await waitFor('the push channel over wss', async () => pushedOver(a, 'wss'));
    await waitFor('online through the embedded broker', async () => {
      const d = await platform.api('GET', `devices/${device.id}`);
      return d.status === 'online';
    });
    await platform.deploy(device.id, rel, '{"speed": 2}');
    await waitFor('the second file', async () =>
      readFileSync(a.path('/etc/robot/tls.json'), 'utf8').includes('2'),
    );
  });

  it('an agent without the CA is refused at provisioning with a clear error, and nothing is stored', async () => {
    const a = agent();
    const device = await platform.newDevice(`tls-none-${tag}`);
    const out = await provisionAgent(server.url, a.stateDir, device.token);
    expect(out.code).toBe(1);
    expect(out.stderr).toMatch(UNTRUSTED);
    expect(out.stderr).toContain(`cannot reach ${server.url}`);
    expect(existsSync(`${a.stateDir}/identity/device.json`)).toBe(false);
    // The token was never spent: the same device can still be provisioned with the right CA.
    const retry = await provisionAgent(server.url, a.stateDir, device.token, ['--ca-file', pki.caFile]);
    expect(retry.code, retry.stderr).toBe(0);
  });

  it('a CA that did not sign the server certificate is refused the same way', async () => {
    const a = agent();
    const device = await platform.newDevice(`tls-wrong-${tag}`);
    const out = await provisionAgent(server.url, a.stateDir, device.token, ['--ca-file', pki.otherCaFile]);
    expect(out.code).toBe(1);
    expect(out.stderr).toMatch(UNTRUSTED);
    expect(existsSync(`${a.stateDir}/identity/device.json`)).toBe(false);
  });

  it('a CA file without a certificate, or missing, is refused before any request', async () => {
    const a = agent();
    const device = await platform.newDevice(`tls-bad-${tag}`);
    const key = await provisionAgent(server.url, a.stateDir, device.token, ['--ca-file', pki.keyFile]);
    expect(key.code).toBe(1);
    expect(key.stderr).toContain(`the CA file ${pki.keyFile} holds no PEM certificate`);
    const missing = await provisionAgent(server.url, a.stateDir, device.token, [
      '--ca-file',
      `${pki.dir}/nope.pem`,
    ]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain(`cannot read the CA file ${pki.dir}/nope.pem`);
    expect(existsSync(`${a.stateDir}/identity`)).toBe(false);
  });

  it('a running agent told to trust another CA does not fall back: it keeps failing and says why', async () => {
    const a = agent(['--ca-file', pki.otherCaFile]);
    const device = await platform.newDevice(`tls-run-${tag}`);
    const out = await provisionAgent(server.url, a.stateDir, device.token, ['--ca-file', pki.caFile]);
    expect(out.code, out.stderr).toBe(0);
    const rel = await platform.release(`tlsrun-${tag}`, '/etc/robot/never.json');
    await platform.deploy(device.id, rel, '{"x": 1}');
    a.start();
    await waitFor('the reason in the log', async () => UNTRUSTED.test(a.log));
    expect(existsSync(a.path('/etc/robot/never.json'))).toBe(false);
    expect((await platform.api('GET', `devices/${device.id}`)).status).not.toBe('online');
  });
});

const MOSQUITTO = mosquittoBinary();
const ADMIN = { admin: 'bosun-server', password: 'broker-admin-secret-0123456789' };

describe.skipIf(MOSQUITTO === undefined || dynsecPlugin() === undefined)(
  'TLS with a private CA, Mosquitto (dynamic security) with a TLS listener',
  () => {
    let pki: TestPki;
    let database: TestDatabase;
    let broker: OwnMosquitto;
    let server: RunningServer;
    let platform: Platform;
    const a = new AgentProcess();

    beforeAll(async () => {
      pki = makeTestPki();
      broker = new OwnMosquitto(MOSQUITTO!, {
        dynsec: ADMIN,
        tls: { certFile: pki.certFile, keyFile: pki.keyFile },
      });
      await broker.start();
      database = createTestDatabase(httpEngine());
      const adminKey = generateApiKeySecret();
      // The replicas use the broker's internal plain listener; robots are sent to its TLS one.
      server = await tlsServer(pki, database, adminKey, {
        mqttUrl: broker.adminUrl,
        mqttAuth: 'dynsec',
        mqttPublicUrl: broker.tlsUrl,
      });
      platform = new Platform(server.url, adminKey, createNodeFetch({ ca: readFileSync(pki.caFile) }));
    });
    afterAll(async () => {
      await a.stop();
      await server?.close();
      await broker?.destroy();
      await database?.destroy();
      pki?.destroy();
    });

    it('an agent provisioned with the CA logs in over mqtts and applies a deployment', async () => {
      const device = await platform.newDevice(`tls-mq-${tag}`);
      const out = await provisionAgent(server.url, a.stateDir, device.token, ['--ca-file', pki.caFile]);
      expect(out.code, out.stderr).toBe(0);
      a.start();
      await waitFor('the push channel over mqtts', async () => pushedOver(a, 'mqtts'));
      await waitFor('online through Mosquitto', async () => {
        const d = await platform.api('GET', `devices/${device.id}`);
        return d.status === 'online';
      });
      const rel = await platform.release(`tlsmq-${tag}`, '/etc/robot/mq.json');
      await platform.deploy(device.id, rel, '{"hz": 5}');
      await waitFor('the file', async () => readFileSync(a.path('/etc/robot/mq.json'), 'utf8').includes('5'));
    });
  },
);
