#!/bin/bash
# A generator that tries to leave its sandbox. It prints one ConfigMap whose
# data says, for each attempt, whether it succeeded ("yes") or not ("no"),
# and what it found in its environment. TestHostilePlugin reads it.
set -u

# Where to try: given by the Application's env (SOLL_ENV_*; the plain names
# are what an older soll passed).
token=${SOLL_ENV_TOKEN_FILE:-${TOKEN_FILE:-/nonexistent}}
snapshot=${SOLL_ENV_SNAPSHOT:-${SNAPSHOT:-/nonexistent}}
other=${SOLL_ENV_OTHER_DIR:-${OTHER_DIR:-/nonexistent}}
export snapshot other

# attempt runs its arguments and prints yes when they succeed.
attempt() { if "$@" >/dev/null 2>&1; then echo yes; else echo no; fi; }

readToken=$(attempt cat "$token")
listRunSecrets=$(attempt ls /var/run)
readParentEnviron=$(attempt cat "/proc/$PPID/environ")
writeSnapshot=$(attempt sh -c 'echo pwned > "$snapshot/pwned"')
changeSnapshot=$(attempt sh -c 'echo pwned >> "$snapshot/apps/hostile/generate.sh"')
writeOther=$(attempt sh -c 'echo pwned > "$other/pwned"')
writeTmp=$(attempt sh -c 'echo ok > /tmp/soll-hostile-plugin-test && rm /tmp/soll-hostile-plugin-test')
# The ordinary work of a generator: write in its copy, HOME and TMPDIR.
writeCopy=$(attempt sh -c 'echo ok > out.yaml && mkdir -p "$HOME/.cache" && echo ok > "$HOME/.cache/x" && echo ok > "$TMPDIR/x"')
# The dynamic loader complains on standard error when it is given
# LD_PRELOAD; preload.so is no library, so it only complains.
preload=no
case $(/bin/true 2>&1) in *LD_PRELOAD*) preload=yes ;; esac

cat <<YAML
apiVersion: v1
kind: ConfigMap
metadata:
  name: hostile
data:
  readToken: "$readToken"
  listRunSecrets: "$listRunSecrets"
  readParentEnviron: "$readParentEnviron"
  writeSnapshot: "$writeSnapshot"
  changeSnapshot: "$changeSnapshot"
  writeOther: "$writeOther"
  writeTmp: "$writeTmp"
  writeCopy: "$writeCopy"
  ldPreload: "$preload"
  bashEnv: "${EVIL_RAN:-no}"
  PATH: "$PATH"
  GREETING: "${GREETING:-unset}"
  LD_PRELOAD: "${LD_PRELOAD:-unset}"
  SOLL_ENV_GREETING: "${SOLL_ENV_GREETING:-unset}"
  ARGOCD_ENV_GREETING: "${ARGOCD_ENV_GREETING:-unset}"
  SOLL_ENV_LD_PRELOAD: "${SOLL_ENV_LD_PRELOAD:-unset}"
YAML
