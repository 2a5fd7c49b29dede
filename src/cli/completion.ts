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

/**
 * \`npx stratctl ...\` completed too: README's way of running it, as npm links no bin of a private
 * package onto PATH. Handed to \`_stratctl\` with \`npx\` taken off the words; anything else npx runs
 * keeps the completion npx had (chained to, never replaced: bash's \`-F\` function, zsh's function),
 * else file names. An npx completion bash cannot chain to (not a function) is left alone, and said.
 */
function npxCompletion(name: string, shell: 'bash' | 'zsh'): string {
  if (shell === 'zsh')
    return `# \`npx ${name} ...\`: the words after npx completed as ${name}'s (zsh's own _precommand way); the rest as before.
if [[ -n "\${_comps[npx]:-}" && "\${_comps[npx]}" != _${name}_npx ]]; then _${name}_npx_previous="\${_comps[npx]}"; fi
_${name}_npx() {
  if (( CURRENT > 2 )) && [[ "\${words[2]}" == ${name} ]]; then
    shift words
    (( CURRENT-- ))
    _normal
  elif [[ -n "\${_${name}_npx_previous:-}" ]]; then
    \${=_${name}_npx_previous}
  else
    _default
  fi
}
compdef _${name}_npx npx
`;
  return `# \`npx ${name} ...\`: the words after npx completed as ${name}'s; anything else npx runs as before.
_${name}_npx() {
  if ((COMP_CWORD >= 2)) && [[ "\${COMP_WORDS[1]}" == ${name} ]]; then
    local shifted=("\${COMP_WORDS[@]:1}")
    local COMP_WORDS=("\${shifted[@]}") COMP_CWORD=$((COMP_CWORD - 1))
    _${name} ${name} "$2" "$3"
  elif [[ -n "\${_${name}_npx_previous:-}" ]]; then
    "$_${name}_npx_previous" "$@"
  else
    # Nothing offered: file names (-o default).
    COMPREPLY=()
  fi
}
_${name}_npx_spec="$(complete -p npx 2>/dev/null)"
case "$_${name}_npx_spec" in
  # None yet, or this one (sourced again: the one it chains to is kept).
  "" | *" -F _${name}_npx "*) complete -o default -F _${name}_npx npx ;;
  *" -F "*)
    _${name}_npx_previous="\${_${name}_npx_spec#* -F }"
    _${name}_npx_previous="\${_${name}_npx_previous%% *}"
    complete -o default -F _${name}_npx npx
    ;;
  *) echo "${name} completion: npx already completes as '$_${name}_npx_spec': left alone, so 'npx ${name}' is not completed" >&2 ;;
esac
`;
}

/** A bash completion function for the tree (zsh runs it through bashcompinit), and \`npx <name>\`'s. */
export function bashCompletion(root: Command, shell: 'bash' | 'zsh' = 'bash'): string {
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
${npxCompletion(name, shell)}`;
}

/** `stratctl completion [bash|zsh]`. */
export const completion: Action = async (_flags, [shell = 'bash'], ctx, command) => {
  let root = command;
  while (root.parent) root = root.parent;
  if (shell === 'bash') ctx.io.stdout.write(bashCompletion(root));
  else if (shell === 'zsh') ctx.io.stdout.write(`autoload -U +X bashcompinit && bashcompinit\n${bashCompletion(root, 'zsh')}`);
  else throw new UsageError(`completion for bash or zsh, not "${shell}"`);
  return EXIT.ok;
};
