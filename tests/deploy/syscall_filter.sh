# Sourced by the tests in tests/deploy: what a unit's SystemCallFilter= lines leave allowed, computed
# from this systemd's own group tables (`systemd-analyze syscall-filter`).
#
#   expand ITEM...            the system calls of each group (recursively) or call
#   unit_allowed_calls UNIT   the calls UNIT's SystemCallFilter= lines allow, one per line (an allow
#                             list, minus every `~` line); nothing when the unit has no allow list

declare -A group_members
load_group_members() {
  local line current=
  while IFS= read -r line; do
    case "$line" in
      @*) current=$line; group_members[$current]= ;;
      "    #"*|"") ;;
      "    "*) group_members[$current]+="${line#    } " ;;
    esac
  done < <(systemd-analyze syscall-filter --no-pager 2>/dev/null)
}
load_group_members

expand() {
  local item
  for item in "$@"; do
    if [[ $item == @* ]]; then
      # shellcheck disable=SC2086
      expand ${group_members[$item]-}
    else
      echo "$item"
    fi
  done
}

unit_allowed_calls() {
  local value word allow=() deny=()
  while IFS= read -r value; do
    if [[ $value == "~"* ]]; then
      for word in ${value#\~}; do deny+=("$word"); done
    else
      for word in $value; do allow+=("$word"); done
    fi
  done < <(sed -nE 's/^[[:space:]]*SystemCallFilter=(.*[^[:space:]])[[:space:]]*$/\1/p' "$1")
  [ ${#allow[@]} -gt 0 ] || return 0
  comm -23 <(expand "${allow[@]}" | sort -u) <(expand "${deny[@]}" | sort -u)
}
