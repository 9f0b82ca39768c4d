import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command } from 'commander';
import { describe, expect, it } from 'vitest';
import { bashCompletion, completionTable, registerCompletionCommand } from '../src/commands/completion.ts';
import { registerConfigTypeCommands } from '../src/commands/config-types.ts';
import { registerDeployCommand } from '../src/commands/deploy.ts';
import { registerDeploymentCommands } from '../src/commands/deployments.ts';
import { registerDeviceCommands } from '../src/commands/devices.ts';
import { registerGroupCommands } from '../src/commands/groups.ts';
import { registerInstanceCommands } from '../src/commands/instances.ts';
import { registerLoginCommand } from '../src/commands/login.ts';
import { registerReleaseCommand } from '../src/commands/release.ts';
import { registerReleasesCommands } from '../src/commands/releases.ts';
import { registerRolloutCommands } from '../src/commands/rollouts.ts';
import { registerSchemaCommands } from '../src/commands/schemas.ts';
import { registerWebhookCommands } from '../src/commands/webhooks.ts';
import { runCli } from './cli-process.ts';

/** The API commands of `bosun`, registered as main.ts registers them. */
function apiProgram(): Command {
  const program = new Command('bosun').enablePositionalOptions();
  for (const register of [
    registerLoginCommand,
    registerReleaseCommand,
    registerReleasesCommands,
    registerDeviceCommands,
    registerGroupCommands,
    registerRolloutCommands,
    registerWebhookCommands,
    registerDeploymentCommands,
    registerDeployCommand,
    registerConfigTypeCommands,
    registerSchemaCommands,
    registerInstanceCommands,
    registerCompletionCommand,
  ]) {
    register(program);
  }
  return program;
}

function leaves(cmd: Command, path: string[] = []): { path: string[]; cmd: Command }[] {
  if (cmd.commands.length === 0) return [{ path, cmd }];
  return cmd.commands.flatMap((c) => leaves(c, [...path, c.name()]));
}

const NO_JSON = new Set(['instances content', 'completion', 'webhooks delete', 'webhooks test']);

describe('help is complete and consistent', () => {
  it('every command and argument is described, and every data command has --json', () => {
    const program = apiProgram();
    const all = leaves(program);
    expect(all.map((l) => l.path.join(' '))).toEqual(
      expect.arrayContaining([
        'login',
        'release create',
        'releases list',
        'releases get',
        'devices activation-token',
        'devices ping',
        'deployments restage',
        'deploy',
        'deployments drifts',
        'deployments events',
        'instances content',
        'config-types update',
        'schemas get',
        'groups move',
        'groups assign',
        'devices tag',
        'rollouts create',
        'rollouts abort',
        'webhooks rotate-secret',
        'completion',
      ]),
    );
    for (const group of program.commands) expect(group.description(), group.name()).not.toBe('');
    for (const { path, cmd } of all) {
      const name = path.join(' ');
      expect(cmd.description(), name).toMatch(/^[A-Z]/);
      for (const arg of cmd.registeredArguments)
        expect(arg.description, `${name} <${arg.name()}>`).not.toBe('');
      for (const opt of cmd.options) expect(opt.description, `${name} ${opt.flags}`).not.toBe('');
      if (!NO_JSON.has(name))
        expect(
          cmd.options.map((o) => o.long),
          name,
        ).toContain('--json');
      expect(cmd.helpInformation()).toContain(`Usage: bosun ${name}`);
    }
    // Every list command pages the same way.
    for (const { path, cmd } of all.filter((l) => l.path.at(-1) === 'list')) {
      expect(
        cmd.options.map((o) => o.long),
        path.join(' '),
      ).toEqual(expect.arrayContaining(['--limit', '--offset', '--all', '--json']));
    }
  });

  it('the real binary lists every command in --help', async () => {
    const res = await runCli(['--help']);
    expect(res.code).toBe(0);
    for (const name of [
      'login',
      'release',
      'releases',
      'devices',
      'groups',
      'rollouts',
      'webhooks',
      'deployments',
      'deploy',
      'config-types',
      'schemas',
      'instances',
      'completion',
      'server',
      'keys',
    ]) {
      expect(res.stdout).toMatch(new RegExp(`^  ${name}\\b`, 'm'));
    }
    const sub = await runCli(['deployments', 'create', '--help']);
    expect(sub.code).toBe(0);
    expect(sub.stdout).toContain('--wait');
  }, 120_000);
});

describe('shell completion', () => {
  const complete = (script: string, words: string[]) => {
    const dir = mkdtempSync(join(tmpdir(), 'bosun-completion-'));
    const file = join(dir, 'bosun.bash');
    writeFileSync(file, script);
    const line = words.map((w) => `'${w}'`).join(' ');
    return execFileSync(
      'bash',
      [
        '-c',
        `source ${file}; COMP_WORDS=(${line}); COMP_CWORD=${words.length - 1}; _bosun_complete; printf '%s\\n' "\${COMPREPLY[@]}"`,
      ],
      { encoding: 'utf8' },
    )
      .split('\n')
      .filter(Boolean);
  };

  it('completes commands, subcommands and options from the command tree', () => {
    const program = apiProgram();
    const script = bashCompletion(program, 'bash');
    expect(complete(script, ['bosun', 'dep'])).toEqual(['deployments', 'deploy']);
    expect(complete(script, ['bosun', 'deploy', '--s'])).toEqual(['--set', '--stage']);
    expect(complete(script, ['bosun', 'devices', ''])).toEqual(
      expect.arrayContaining(['list', 'get', 'create', 'rename', 'activation-token', 'ping']),
    );
    expect(complete(script, ['bosun', 'deployments', 'create', '--w'])).toEqual(['--wait']);
    expect(complete(script, ['bosun', 'release', 'create', '--version', 'v1', '--sch'])).toEqual([
      '--schemas',
      '--schema',
    ]);
    expect(completionTable(program).get('instances create')).toEqual(
      expect.arrayContaining(['--schema', '--file', '--json', '--help']),
    );
  });

  it('the binary prints bash and zsh scripts that parse, and refuses another shell (exit 2)', async () => {
    const [bash, zsh, fish] = await Promise.all([
      runCli(['completion', 'bash']),
      runCli(['completion', 'zsh']),
      runCli(['completion', 'fish']),
    ]);
    expect(bash.code).toBe(0);
    expect(bash.stdout).toContain('complete -o default -F _bosun_complete bosun');
    execFileSync('bash', ['-n'], { input: bash.stdout });
    expect(complete(bash.stdout, ['bosun', 'ke'])).toEqual(['keys']);
    expect(zsh.code).toBe(0);
    expect(zsh.stdout).toContain('bashcompinit');
    execFileSync('bash', ['-n'], { input: zsh.stdout });
    expect(fish.code).toBe(2);
    expect(fish.stderr).toContain("'fish' is invalid for argument 'shell'");
  }, 120_000);
});
