package main

import (
	"fmt"

	"github.com/urfave/cli/v2"
)

// The scripts ask ditto itself for the candidates (urfave/cli's
// --generate-bash-completion, enabled in newApp), like the ones urfave/cli
// ships in its autocomplete folder, with three changes: they need no
// bash-completion package, they never eval the command line, and after
// `--` (the command of `copy run`) they complete that command instead of
// running `ditto copy run -- CMD --generate-bash-completion`, which would
// create a copy and run CMD.

const bashCompletion = `# bash completion for ditto: source <(ditto completion bash)
_ditto_complete() {
	local cur words cword
	if declare -F _get_comp_words_by_ref >/dev/null 2>&1; then
		_get_comp_words_by_ref -n =: cur words cword
	else
		cur=${COMP_WORDS[COMP_CWORD]}
		words=("${COMP_WORDS[@]}")
		cword=$COMP_CWORD
	fi
	local i
	for ((i = 1; i < cword; i++)); do
		if [[ ${words[i]} == -- ]]; then
			# the command after --: complete it as a command of its own
			if declare -F _command_offset >/dev/null 2>&1; then
				_command_offset $((i + 1))
			else
				COMPREPLY=()
			fi
			return
		fi
	done
	local -a req=("${words[@]:0:cword}")
	req[0]=${req[0]/#\~/$HOME}
	[[ $cur == -* ]] && req+=("$cur")
	local opts
	opts=$("${req[@]}" --generate-bash-completion 2>/dev/null) || return
	COMPREPLY=($(compgen -W "$opts" -- "$cur"))
}
complete -o bashdefault -o default -F _ditto_complete ditto
`

const zshCompletion = `#compdef ditto
# zsh completion for ditto: source <(ditto completion zsh) after compinit, or
# save it as _ditto in a folder of $fpath.
_ditto() {
	local i=${words[(I)--]}
	if (( i > 1 && i < CURRENT )); then
		# the command after --: complete it as a command of its own
		shift $i words
		(( CURRENT -= i ))
		_normal
		return
	fi
	local -a req opts
	req=("${(@)words[1,CURRENT-1]}")
	[[ ${words[CURRENT]} == -* ]] && req+=("${words[CURRENT]}")
	req[1]=${req[1]/#\~/$HOME}
	# urfave/cli adds descriptions when the variable "0" ends in zsh
	opts=("${(@f)$(env 0=zsh "${(@)req}" --generate-bash-completion 2>/dev/null)}")
	if [[ -n ${opts[1]} ]]; then
		_describe 'ditto' opts
	else
		_files
	fi
}
if [[ $funcstack[1] == _ditto ]]; then
	_ditto "$@"
else
	compdef _ditto ditto
fi
`

func completionCommand() *cli.Command {
	return &cli.Command{
		Name:      "completion",
		Usage:     "print the shell completion script for bash or zsh",
		ArgsUsage: "bash|zsh",
		Description: `Prints a script that completes ditto's commands and flags in bash or zsh.
Load it in the shell's start-up file, or install it once for everyone.

Examples:
   source <(ditto completion bash)                       # in ~/.bashrc
   ditto completion bash | sudo tee /etc/bash_completion.d/ditto
   source <(ditto completion zsh)                        # in ~/.zshrc, after compinit
   ditto completion zsh > "${fpath[1]}/_ditto"`,
		Action: func(c *cli.Context) error {
			switch c.Args().First() {
			case "bash":
				fmt.Print(bashCompletion)
			case "zsh":
				fmt.Print(zshCompletion)
			default:
				return fmt.Errorf("which shell? give bash or zsh, e.g. `source <(ditto completion bash)`")
			}
			return nil
		},
	}
}
