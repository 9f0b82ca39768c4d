import type { Device } from '@bosun/sdk';
import type { Command } from 'commander';
import {
  addListOptions,
  connect,
  fetchList,
  type JsonOption,
  jsonOption,
  type ListOptions,
  parseDuration,
  printList,
  printOne,
  run,
} from '../api.ts';

const fields: [string, (d: Device) => unknown][] = [
  ['ID', (d) => d.id],
  ['NAME', (d) => d.name],
  ['STATUS', (d) => d.status],
  ['AGENT', (d) => d.agent_version],
  ['LAST CONNECTED', (d) => d.last_connected_at],
  ['CREATED', (d) => d.created_at],
];

export function registerDeviceCommands(program: Command): void {
  const devices = program.command('devices').description('Devices (robots) of the fleet');
  const show = (opts: JsonOption, d: Device) => printOne(opts, d, fields);

  addListOptions(devices.command('list').description('List devices'))
    .option('--name <name...>', 'only these device names')
    .option('--id <id...>', 'only these device ids')
    .option('--agent-version <version...>', 'only devices running these agent versions')
    .action(
      run(async (opts: ListOptions & { name?: string[]; id?: string[]; agentVersion?: string[] }) => {
        const page = await fetchList(connect().devices, opts, {
          name: opts.name,
          id: opts.id,
          agent_version: opts.agentVersion,
        });
        printList(opts, page, fields);
      }),
    );

  devices
    .command('get')
    .description('Show one device')
    .argument('<device-id>', 'dvc_...')
    .addOption(jsonOption())
    .action(run(async (id: string, opts: JsonOption) => show(opts, await connect().devices.get(id))));

  devices
    .command('create')
    .description('Create a device (status inactive until its agent activates)')
    .argument('<name>', 'unique device name, 1–48 characters')
    .addOption(jsonOption())
    .action(
      run(async (name: string, opts: JsonOption) => show(opts, await connect().devices.create({ name }))),
    );

  devices
    .command('rename')
    .description('Rename a device')
    .argument('<device-id>', 'dvc_...')
    .argument('<name>', 'new unique name')
    .addOption(jsonOption())
    .action(
      run(async (id: string, name: string, opts: JsonOption) =>
        show(opts, await connect().devices.update(id, { name })),
      ),
    );

  devices
    .command('activation-token')
    .description('Issue a single-use activation token for installing the agent on the device (30 minutes)')
    .argument('<device-id>', 'dvc_...')
    .option('--allow-reactivation', 'let the token activate a device that was activated before')
    .addOption(jsonOption())
    .action(
      run(async (id: string, opts: JsonOption & { allowReactivation?: boolean }) => {
        const client = connect();
        const token = await client.devices.createActivationToken(id, {
          allow_reactivation: Boolean(opts.allowReactivation),
        } as any);
        // The one line to run on the robot (the server's /install.sh; README "Put the agent on a robot").
        const server = client.http.baseUrl.replace(/\/beta$/, '');
        printOne(opts, token, [
          ['TOKEN', (t: any) => t.token],
          ['EXPIRES', (t: any) => t.expires_at],
          ['INSTALL', (t: any) => installCommand(server, t.token)],
        ]);
      }),
    );

  devices
    .command('ping')
    .description("Ping the device's agent through the push channel; exits 1 when it does not answer in time")
    .argument('<device-id>', 'dvc_...')
    .option('--timeout <duration>', 'how long to wait, at most 10s (e.g. 500ms, 5s)', parseDuration, 5000)
    .addOption(jsonOption())
    .action(
      run(async (id: string, opts: JsonOption & { timeout: number }) => {
        const result: any = await connect().devices.ping(id, {
          timeout_nanos: opts.timeout * 1_000_000,
        } as any);
        if (opts.json) process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
        else if (result.code === 'success') {
          process.stdout.write(
            `success: round trip ${(Number(result.round_trip_nanos) / 1e6).toFixed(1)} ms\n`,
          );
        } else process.stdout.write(`${result.code}: no answer within ${opts.timeout} ms\n`);
        if (result.code !== 'success') process.exitCode = 1;
      }),
    );
}

/** The enrolment one-liner; the token is quoted for the shell it is pasted into. */
export function installCommand(server: string, token: string): string {
  return `curl -fsSL ${server}/install.sh | sudo sh -s -- --token '${token.replaceAll("'", `'\\''`)}'`;
}
