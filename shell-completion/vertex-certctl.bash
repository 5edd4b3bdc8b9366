# SPDX-License-Identifier: LGPL-2.1-or-later
# bash completion for vertex-certctl: verbs, options and their arguments.
#
# The verbs and each verb's options are read from vertex-certctl's own help
# (the command list of --help, the synopsis of VERB --help), so a new verb or
# option completes without a change here. An option followed by FILE, DIR or
# PATH completes file names, one followed by "a|b" completes those words.

_vertex_certctl_verbs() {
        "$1" --help 2>/dev/null | sed -n 's/^  \([a-z][a-z-]*\)\( .*\)\{0,1\}$/\1/p' | sort -u
}

# The options that take an argument ("--cert FILE" in the option list of --help).
_vertex_certctl_argopts() {
        "$1" --help 2>/dev/null | grep -o -- '--[a-z][a-z-]* [A-Z][A-Z]*' | cut -d' ' -f1
}

# The synopsis of one verb: the lines of "VERB --help" before the first empty one.
_vertex_certctl_synopsis() {
        "$1" "$2" --help 2>/dev/null | sed '/^$/q'
}

_vertex_certctl() {
        local cur prev words cword
        _init_completion || return

        local prog=${words[0]} verb= i argopts
        argopts=" $(_vertex_certctl_argopts "$prog" | tr '\n' ' ') "
        for ((i = 1; i < cword; i++)); do
                # The verb is the first word that is neither an option nor an option's argument.
                [[ ${words[i]} == -* || $argopts == *" ${words[i-1]} "* ]] && continue
                verb=${words[i]}
                break
        done

        local global="--help --version --json --no-ask-password"
        if [[ -z $verb ]]; then
                if [[ $argopts == *" $prev "* ]]; then
                        _filedir
                elif [[ $cur == -* ]]; then
                        COMPREPLY=($(compgen -W "$global" -- "$cur"))
                else
                        COMPREPLY=($(compgen -W "$(_vertex_certctl_verbs "$prog")" -- "$cur"))
                fi
                return
        fi

        local synopsis
        synopsis=$(_vertex_certctl_synopsis "$prog" "$verb")

        # The argument of the option before the cursor.
        if [[ $argopts == *" $prev "* ]]; then
                local arg
                arg=$(grep -o -- "$prev [^] ]*" <<< "$synopsis" | head -n1)
                arg=${arg#"$prev "}
                case $arg in
                        FILE | PATH) _filedir; return ;;
                        DIR) _filedir -d; return ;;
                        *"|"*) COMPREPLY=($(compgen -W "${arg//|/ }" -- "$cur")); return ;;
                        *) return ;;   # a name or a number: nothing to offer
                esac
        fi

        if [[ $cur == -* ]]; then
                local opts
                opts=$(grep -o -- '--[a-z][a-z-]*' <<< "$synopsis" | sort -u)
                COMPREPLY=($(compgen -W "$opts $global" -- "$cur"))
                return
        fi

        # Positional file arguments (inspect FILE...).
        if [[ $synopsis == *"$verb FILE"* ]]; then
                _filedir
        fi
}

complete -F _vertex_certctl vertex-certctl
