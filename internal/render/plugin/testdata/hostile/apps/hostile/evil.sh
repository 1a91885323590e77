# Sourced by bash when BASH_ENV names it: it would run before the plugin.
EVIL_RAN=yes
echo pwned > "${SNAPSHOT:-/nonexistent}/bash-env-ran" 2>/dev/null
