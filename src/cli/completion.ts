import type { Command } from 'commander';
import { UsageError } from '../usage-error.js';
import { EXIT } from './exit-codes.js';
import type { Action } from './program.js';

/** Values offered after a flag that takes one of a few words. */
const FLAG_VALUES: Record<string, string[]> = {
  '--log-format': ['text', 'json'],
  '--log-level': ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'],
  '--risk-level': ['low', 'medium', 'high'],
  '--session': ['any', 'london', 'ny', 'asia'],
  '--scope': ['read', 'operate', 'admin'],
  '--subject': ['config', 'presets'],
};

/** Words offered for a command's own arguments (where it has no subcommands). */
const ARGUMENT_VALUES: Record<string, string[]> = {
  completion: ['bash', 'zsh'],
};

interface Node {
  path: string;
  subcommands: string[];
  flags: string[];
}

/** Every flag of the tree that takes a value (`--runtime-dir <dir>`): its next word is that value, not a command. */
function valueFlags(command: Command, out = new Set<string>()): Set<string> {
  for (const o of command.options) if (o.long && (o.required || o.optional)) out.add(o.long);
  for (const sub of command.commands) valueFlags(sub, out);
  return out;
}

/** Every command of the tree, with its subcommands and its flags (visible ones, plus help). */
function walk(command: Command, path: string, out: Node[]): Node[] {
  const subcommands = command.commands.map((c) => c.name());
  const flags = command.options.filter((o) => !o.hidden && o.long).map((o) => o.long as string);
  if (!flags.includes('--help')) flags.push('--help');
  out.push({ path, subcommands, flags });
  for (const sub of command.commands) walk(sub, path ? `${path} ${sub.name()}` : sub.name(), out);
  return out;
}

const caseArm = (key: string, words: string[]) => `    ${JSON.stringify(key)}) echo ${JSON.stringify(words.join(' '))} ;;`;

/** A bash completion function for the tree (zsh runs it through bashcompinit). */
export function bashCompletion(root: Command): string {
  const nodes = walk(root, '', []);
  const name = root.name();
  return `# ${name} completion. bash: source <(${name} completion bash); zsh: source <(${name} completion zsh)
_${name}_subcommands() {
  case "$1" in
${nodes.map((n) => caseArm(n.path, n.subcommands.length > 0 ? n.subcommands : (ARGUMENT_VALUES[n.path] ?? []))).join('\n')}
  esac
}
_${name}_flags() {
  case "$1" in
${nodes.map((n) => caseArm(n.path, n.flags)).join('\n')}
  esac
}
_${name}_values() {
  case "$1" in
${Object.entries(FLAG_VALUES)
  .map(([flag, values]) => caseArm(flag, values))
  .join('\n')}
  esac
}
_${name}_takes_value=" ${[...valueFlags(root)].sort().join(' ')} "
_${name}() {
  local cur="\${COMP_WORDS[COMP_CWORD]}" prev="\${COMP_WORDS[COMP_CWORD-1]}" path="" i word values
  for ((i = 1; i < COMP_CWORD; i++)); do
    word="\${COMP_WORDS[i]}"
    # A flag's value (\`--url status\`) is not a command.
    if [[ "$_${name}_takes_value" == *" $word "* ]]; then ((i++)); continue; fi
    if [[ " $(_${name}_subcommands "$path") " == *" $word "* ]]; then path="\${path:+$path }$word"; fi
  done
  values="$(_${name}_values "$prev")"
  if [[ -n "$values" ]]; then
    COMPREPLY=($(compgen -W "$values" -- "$cur"))
  elif [[ "$_${name}_takes_value" == *" $prev "* ]]; then
    # A path, a URL, a number: nothing offered here, so bash completes file names (-o default).
    COMPREPLY=()
  elif [[ "$cur" == -* ]]; then
    COMPREPLY=($(compgen -W "$(_${name}_flags "$path")" -- "$cur"))
  else
    COMPREPLY=($(compgen -W "$(_${name}_subcommands "$path")" -- "$cur"))
  fi
}
complete -o default -F _${name} ${name}
`;
}

/** `stratctl completion [bash|zsh]`. */
export const completion: Action = async (_flags, [shell = 'bash'], ctx, command) => {
  let root = command;
  while (root.parent) root = root.parent;
  if (shell === 'bash') ctx.io.stdout.write(bashCompletion(root));
  else if (shell === 'zsh') ctx.io.stdout.write(`autoload -U +X bashcompinit && bashcompinit\n${bashCompletion(root)}`);
  else throw new UsageError(`completion for bash or zsh, not "${shell}"`);
  return EXIT.ok;
};
