# bash completion for hb and hbd (installed by the hb package)
_hb() {
  local cur prev words cword
  _init_completion 2>/dev/null || { cur=${COMP_WORDS[COMP_CWORD]}; prev=${COMP_WORDS[COMP_CWORD-1]}; words=("${COMP_WORDS[@]}"); cword=$COMP_CWORD; }
  case $prev in
    --file|--dir|--hb|--admindir|--mount) compopt -o filenames 2>/dev/null; COMPREPLY=($(compgen -f -- "$cur")); return ;;
  esac
  if [ "$cword" -eq 1 ]; then
    COMPREPLY=($(compgen -W "config timing simulate nfs drbd fence compat shims status maintenance doctor --help --version" -- "$cur"))
    return
  fi
  local sub
  case ${words[1]} in
    config) sub="show validate get set unset --file --json --force" ;;
    timing) sub="explain --file --json" ;;
    nfs) sub="check scan write --mount --host --max-age --json --help" ;;
    drbd) sub="status check --json --help" ;;
    fence) sub="last --action --reason --dry-run --file --json --help" ;;
    compat) sub="kvmheartbeat kvmspheartbeat kvmsmpheartbeat kvmvmactivity kvmha-fence" ;;
    shims) sub="install uninstall status --dir --hb --force --divert --admindir --json" ;;
    maintenance) sub="on off --ttl" ;;
    status|doctor) sub="--dir --json --file" ;;
  esac
  COMPREPLY=($(compgen -W "$sub" -- "$cur"))
}
_hbd() {
  local cur=${COMP_WORDS[COMP_CWORD]}
  COMPREPLY=($(compgen -W "--demo --file --log-level --help --version" -- "$cur"))
}
complete -F _hb hb
complete -F _hbd hbd
