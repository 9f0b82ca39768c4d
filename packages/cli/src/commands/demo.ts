import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { BosunApiError, BosunClient } from '@bosun/sdk';
import { type Command, InvalidArgumentError } from 'commander';
import { run } from '../api.ts';
import { createProgress } from '../progress.ts';
import { collectSchemaFiles, loadSchemaUnits } from '../schema-files.ts';
import { CLI_VERSION } from '../version.ts';
import { showOrWait } from './deployments.ts';
import { createRelease } from './release.ts';

const DEMO_VERSION = 'v1.0.0';

const port = (value: string) => {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new InvalidArgumentError('a port is 0..65535.');
  return n;
};

/** `examples/robot-configs` of the checkout this command runs from (searched upwards). */
function findExamples(): string | undefined {
  for (let dir = import.meta.dirname; ; dir = dirname(dir)) {
    const candidate = join(dir, 'examples', 'robot-configs');
    if (existsSync(join(candidate, 'schemas'))) return candidate;
    if (dirname(dir) === dir) return undefined;
  }
}

/**
 * One instance file per config type: the first valid one that `expected.json` lists (the examples'
 * own order), else the first `instances/<type>.valid-*.json` by name.
 */
function pickInstances(examples: string, configTypes: string[]): Map<string, string> {
  const listed: string[] = [];
  const expectedFile = join(examples, 'expected.json');
  if (existsSync(expectedFile)) {
    const expected = JSON.parse(readFileSync(expectedFile, 'utf8')) as {
      instances?: { file: string; violations: unknown[] }[];
    };
    for (const i of expected.instances ?? []) if (i.violations.length === 0) listed.push(i.file);
  }
  const files = readdirSync(join(examples, 'instances'))
    .sort()
    .map((f) => `instances/${f}`);
  const picked = new Map<string, string>();
  for (const type of configTypes) {
    const valid = (f: string) => f.startsWith(`instances/${type}.valid-`) && f.endsWith('.json');
    const file = listed.find(valid) ?? files.find(valid);
    if (!file) throw new Error(`no valid instance for config type ${type} in ${examples}/instances`);
    picked.set(type, join(examples, file));
  }
  return picked;
}

/**
 * `bosun demo`: a server, one agent and a first deployment in one step, built from the example robot
 * configs with the same SDK calls as `bosun release create`, `bosun instances create`, `bosun devices
 * create|activation-token`, `bosun agent provision|run` and `bosun deployments create --wait`.
 */
export function registerDemoCommand(program: Command): void {
  program
    .command('demo')
    .description(
      'Start a server and one agent, publish the example robot configs as a release and deploy it to the agent',
    )
    .option('-p, --port <port>', 'server port (0: any free port)', port, 8080)
    .option('-d, --data-dir <dir>', 'server data directory (default: a temporary directory)')
    .option('--agent-dir <dir>', "agent's state and file root (default: a temporary directory)")
    .option('--examples <dir>', 'robot config examples to publish (default: examples/robot-configs)')
    .option('--keep', 'keep the temporary directories on exit')
    .action(
      run(
        async (opts: {
          port: number;
          dataDir?: string;
          agentDir?: string;
          examples?: string;
          keep?: boolean;
        }) => {
          const examples = opts.examples ? resolve(opts.examples) : findExamples();
          if (!examples || !existsSync(join(examples, 'schemas')))
            throw new Error('no example configs found: pass --examples DIR (with schemas/ and instances/)');
          // Loaded here: only `demo` (and `server`/`agent`) need the server and agent code.
          const [{ createLogger, generateApiKeySecret, resolveServerConfig, startServer }, agentLib] =
            await Promise.all([import('@bosun/server'), import('@bosun/agent')]);

          const temp: string[] = [];
          const tempDir = (name: string) => {
            const dir = mkdtempSync(join(tmpdir(), `bosun-demo-${name}-`));
            temp.push(dir);
            return dir;
          };
          const dataDir = resolve(opts.dataDir ?? tempDir('server'));
          const agentDir = resolve(opts.agentDir ?? tempDir('agent'));
          const stateDir = join(agentDir, 'state');
          const fsRoot = join(agentDir, 'root');
          const socketPath = join(agentDir, 'bosun.sock');
          mkdirSync(fsRoot, { recursive: true });

          // A reused data directory already has keys: then the caller's BOSUN_API_KEY is the admin key.
          const apiKey = process.env.BOSUN_API_KEY ?? generateApiKeySecret();
          // The embedded defaults whatever the environment says (no PostgreSQL, no external broker).
          const config = resolveServerConfig(
            { port: opts.port, host: '127.0.0.1', dataDir, logLevel: 'warn' },
            {},
          );
          const server = await startServer(
            { ...config, bootstrapApiKey: apiKey },
            { logger: createLogger('warn'), print: () => {} },
          );
          let agent: InstanceType<typeof agentLib.Agent> | undefined;
          let stopping: Promise<void> | undefined;
          const stop = () => {
            stopping ??= (async () => {
              await agent?.stop().catch(() => {});
              await server.close().catch(() => {});
              if (!opts.keep) for (const dir of temp) rmSync(dir, { recursive: true, force: true });
            })();
            return stopping;
          };
          const onSignal = (signal: NodeJS.Signals) => {
            process.stdout.write(`\n${signal}: stopping the agent and the server\n`);
            // An agent stop waits for an apply in progress; it promises 5 s.
            setTimeout(() => process.exit(1), 6_000).unref();
            stop().then(
              () => {
                process.stdout.write('Stopped.\n');
                process.exit(0);
              },
              () => process.exit(1),
            );
          };
          process.once('SIGINT', onSignal);
          process.once('SIGTERM', onSignal);

          try {
            const client = new BosunClient({
              baseUrl: server.url,
              apiKey,
              userAgent: `bosun-cli/${CLI_VERSION} (demo)`,
            });
            const progress = createProgress();
            progress.succeed(`Server ${server.url} (SQLite in ${dataDir})`);

            // `bosun release create`, without the git commit: the examples need not be a git checkout.
            const units = loadSchemaUnits(collectSchemaFiles([], [join(examples, 'schemas')]));
            const published = await createRelease(client, progress, DEMO_VERSION, units, null);
            const release = published.release;

            // `bosun instances create --schema ID --file F`, one per schema of the release.
            const files = pickInstances(
              examples,
              units.map((u) => u.annotations.configType),
            );
            const instances: { id: string; filepath: string; configType: string }[] = [];
            for (const [i, unit] of units.entries()) {
              const file = files.get(unit.annotations.configType)!;
              const schema = published.config_schemas[i]!;
              progress.start(`Creating a ${unit.annotations.configType} instance from ${file}`);
              const inst = await client.configInstances.create({
                config_schema_id: schema.id,
                content: { format: 'json', data: readFileSync(file, 'utf8') },
              });
              instances.push({
                id: inst.id,
                filepath: inst.filepath,
                configType: unit.annotations.configType,
              });
              progress.succeed(`Instance ${inst.id} → ${inst.filepath}`);
            }

            // `bosun devices create` + `activation-token`, then `bosun agent provision` and `agent run`.
            const device = await createDevice(client);
            progress.succeed(`Device ${device.name} (${device.id})`);
            const token = await client.devices.createActivationToken(device.id, {});
            await agentLib.provision({ server: server.url, token: token.token, stateDir, reprovision: true });
            agent = new agentLib.Agent({
              stateDir,
              fsRoot,
              socketPath,
              logger: agentLib.createAgentLogger('warn'),
            });
            await agent.start();
            progress.succeed(`Agent running (state in ${stateDir}, files under ${fsRoot})`);

            // `bosun deployments create ... --wait`.
            const deployment = await client.deployments.create({
              device_id: device.id,
              release_id: release.id,
              config_instance_ids: instances.map((i) => i.id),
              description: 'bosun demo: the example robot configs',
              target_status: 'deployed',
            });
            await showOrWait(client, deployment, { wait: true, timeout: 120_000, interval: 250 });
            if (process.exitCode) throw new Error(`deployment ${deployment.id} did not reach deployed`);

            process.stdout.write(
              nextSteps({
                url: server.url,
                apiKey,
                device: device.id,
                release: release.id,
                deployment: deployment.id,
                mobility: mobilityPatch(units, published.config_schemas, instances),
                examples,
                fsRoot,
                socketPath,
                files: instances.map((i) => join(fsRoot, i.filepath)),
                temp: opts.keep ? [] : temp,
              }),
            );
          } catch (err) {
            await stop();
            process.removeListener('SIGINT', onSignal);
            process.removeListener('SIGTERM', onSignal);
            throw err;
          }
          // Runs until Ctrl-C: the server and the agent keep the event loop alive.
        },
      ),
    );
}

/** The mobility schema and the other instances, for the "deploy another instance" hint. */
function mobilityPatch(
  units: { annotations: { configType: string } }[],
  schemas: { id: string }[],
  instances: { id: string; configType: string }[],
) {
  const i = units.findIndex((u) => u.annotations.configType === 'mobility');
  if (i < 0) return undefined;
  return {
    schema: schemas[i]!.id,
    others: instances.filter((x) => x.configType !== 'mobility').map((x) => x.id),
  };
}

async function createDevice(client: BosunClient) {
  for (let n = 1; ; n++) {
    const name = n === 1 ? 'demo-robot' : `demo-robot-${n}`;
    try {
      return await client.devices.create({ name });
    } catch (err) {
      // A reused data directory already has this name: take the next one.
      if (!(err instanceof BosunApiError && err.status === 409) || n >= 50) throw err;
    }
  }
}

function nextSteps(s: {
  url: string;
  apiKey: string;
  device: string;
  release: string;
  deployment: string;
  mobility: { schema: string; others: string[] } | undefined;
  examples: string;
  fsRoot: string;
  socketPath: string;
  files: string[];
  temp: string[];
}): string {
  const lines = [
    '',
    'The configs are on the robot (its file root stands in for /):',
    ...s.files.map((f) => `  ${f}`),
    '',
    'Try it in another terminal:',
    `  export BOSUN_SERVER=${s.url} BOSUN_API_KEY=${s.apiKey}`,
    '  npx bosun devices list',
    `  npx bosun deployments events ${s.deployment}`,
    `  curl -H "X-API-Key: $BOSUN_API_KEY" -H 'Miru-Version: 2026-03-09.tetons' ${s.url}/beta/devices/${s.device}`,
    `  curl --unix-socket ${s.socketPath} http://localhost/v0.2/deployments/current`,
    '',
    'Change a config: edit a file under the file root and the agent restores it within a minute; or deploy another',
    'instance (the release stays the same):',
  ];
  if (s.mobility)
    lines.push(
      `  npx bosun instances create --schema ${s.mobility.schema} --file ${join(s.examples, 'instances', 'mobility.valid-night-shift.json')}`,
      `  npx bosun deployments create --device ${s.device} --release ${s.release} \\`,
      `      --instance NEW_ID${s.mobility.others.map((o) => `,${o}`).join('')} -d "night shift" --wait`,
    );
  lines.push(
    '',
    s.temp.length
      ? `Ctrl-C stops the server and the agent and removes ${s.temp.join(' and ')} (--keep keeps them).`
      : 'Ctrl-C stops the server and the agent.',
    '',
  );
  return lines.join('\n');
}
