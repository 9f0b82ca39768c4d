import { Argument, type Command } from 'commander';
import { run } from '../api.ts';

/** Every command path (`""`, `"devices"`, `"devices list"`) with the words that may follow it. */
export function completionTable(program: Command): Map<string, string[]> {
  const table = new Map<string, string[]>();
  const walk = (cmd: Command, path: string) => {
    const words = [
      ...cmd.commands.map((c) => c.name()),
      ...cmd.options.flatMap((o) => [o.long, o.short].filter((f): f is string => Boolean(f))),
      '--help',
    ];
    table.set(path, [...new Set(words)]);
    for (const sub of cmd.commands) walk(sub, path ? `${path} ${sub.name()}` : sub.name());
  };
  walk(program, '');
  return table;
}

/** A bash completion script (zsh loads it through bashcompinit) generated from the command tree. */
export function bashCompletion(program: Command, shell: 'bash' | 'zsh'): string {
  const table = completionTable(program);
  const known = `|${[...table.keys()].filter(Boolean).join('|')}|`;
  const cases = [...table]
    .map(([path, words]) => `    ${JSON.stringify(path)}) words=${JSON.stringify(words.join(' '))} ;;`)
    .join('\n');
  const preamble =
    shell === 'zsh'
      ? 'autoload -U +X compinit && compinit\nautoload -U +X bashcompinit && bashcompinit\n'
      : '';
  return `# bosun ${shell} completion. Load it with: source <(bosun completion ${shell})
${preamble}_bosun_complete() {
  local cur="\${COMP_WORDS[COMP_CWORD]}" path="" next w i words=""
  local known=${JSON.stringify(known)}
  for ((i = 1; i < COMP_CWORD; i++)); do
    w="\${COMP_WORDS[i]}"
    [[ "$w" == -* ]] && continue
    if [[ -z "$path" ]]; then next="$w"; else next="$path $w"; fi
    [[ "$known" == *"|$next|"* ]] && path="$next"
  done
  case "$path" in
${cases}
  esac
  COMPREPLY=($(compgen -W "$words" -- "$cur"))
}
complete -o default -F _bosun_complete bosun
`;
}

export function registerCompletionCommand(program: Command): void {
  program
    .command('completion')
    .description('Print a shell completion script')
    .addArgument(new Argument('[shell]', 'shell to complete for').choices(['bash', 'zsh']).default('bash'))
    .addHelpText(
      'after',
      '\nExamples:\n  source <(bosun completion bash)\n  bosun completion zsh > ~/.zsh/bosun.zsh',
    )
    .action(
      run(async (shell: 'bash' | 'zsh') => {
        process.stdout.write(bashCompletion(program, shell));
      }),
    );
}
