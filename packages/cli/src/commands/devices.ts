import type { Device } from '@bosun/sdk';
import type { Command } from 'commander';
import { type JsonOption, parseDuration, printOne } from '../api.ts';
import { printJson } from '../output.ts';
import { type ActionContext, type ResourceDef, registerResource } from '../resource.ts';

export const devices: ResourceDef<Device> = {
  command: 'devices',
  description: 'Devices (robots) of the fleet',
  noun: 'device',
  idHint: 'dvc_...',
  ref: 'device',
  api: (c) => c.devices,
  columns: [
    ['ID', (d) => d.id],
    ['NAME', (d) => d.name],
    ['STATUS', (d) => d.status],
    ['AGENT', (d) => d.agent_version],
    ['LAST CONNECTED', (d) => d.last_connected_at],
    ['CREATED', (d) => d.created_at],
  ],
  list: {
    description: 'List devices',
    filters: [
      { flags: '--name <name...>', description: 'only these device names', query: 'name' },
      { flags: '--id <id...>', description: 'only these device ids', query: 'id' },
      {
        flags: '--agent-version <version...>',
        description: 'only devices running these agent versions',
        query: 'agent_version',
      },
    ],
  },
  get: { description: 'Show one device' },
  actions: [
    {
      name: 'create',
      description: 'Create a device (status inactive until its agent activates)',
      target: false,
      args: [['<name>', 'unique device name, 1–48 characters']],
      run: ({ client, args: [name] }) => client.devices.create({ name: name! }),
    },
    {
      name: 'rename',
      description: 'Rename a device',
      args: [['<name>', 'new unique name']],
      run: ({ client, id, args: [name] }) => client.devices.update(id, { name: name! }),
    },
    {
      name: 'activation-token',
      description: 'Issue a single-use activation token for installing the agent on the device (30 minutes)',
      options: (cmd) =>
        cmd.option('--allow-reactivation', 'let the token activate a device that was activated before'),
      async run({ client, id, opts }: ActionContext<JsonOption & { allowReactivation?: boolean }>) {
        const token = await client.devices.createActivationToken(id, {
          allow_reactivation: Boolean(opts.allowReactivation),
        });
        // The one line to run on the robot (the server's /install.sh; README "Put the agent on a robot").
        const server = client.http.baseUrl.replace(/\/beta$/, '');
        printOne(opts, token, [
          ['TOKEN', (t) => t.token],
          ['EXPIRES', (t) => t.expires_at],
          ['INSTALL', (t) => installCommand(server, t.token)],
        ]);
        return undefined;
      },
    },
    {
      name: 'ping',
      description:
        "Ping the device's agent through the push channel; exits 1 when it does not answer in time",
      options: (cmd) =>
        cmd.option(
          '--timeout <duration>',
          'how long to wait, at most 10s (e.g. 500ms, 5s)',
          parseDuration,
          5000,
        ),
      async run({ client, id, opts }: ActionContext<JsonOption & { timeout: number }>) {
        const result = await client.devices.ping(id, { timeout_nanos: opts.timeout * 1_000_000 });
        if (opts.json) printJson(result);
        else if (result.code === 'success') {
          process.stdout.write(
            `success: round trip ${(Number(result.round_trip_nanos) / 1e6).toFixed(1)} ms\n`,
          );
        } else process.stdout.write(`${result.code}: no answer within ${opts.timeout} ms\n`);
        if (result.code !== 'success') process.exitCode = 1;
        return undefined;
      },
    },
  ],
};

export function registerDeviceCommands(program: Command): void {
  registerResource(program, devices);
}

/** The enrolment one-liner; the token is quoted for the shell it is pasted into. */
export function installCommand(server: string, token: string): string {
  return `curl -fsSL ${server}/install.sh | sudo sh -s -- --token '${token.replaceAll("'", `'\\''`)}'`;
}
