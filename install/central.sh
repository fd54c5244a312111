#!/usr/bin/env bash
# Installs (or upgrades, or removes) hotpot central and, by default, configures the local
# Mosquitto as the franchise broker: TLS on 8883, per-point passwords, an ACL. Idempotent.
# See docs/OPERATIONS.md, "Install central".
set -euo pipefail

PROG=hotpot-central-install
# shellcheck source=install/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

readonly UNIT=hotpot-central.service
readonly CENTRAL_USER=hotpot-central   # central's broker user; the ACL grants it all of hotpot/v1
readonly MOSQUITTO_DIR=/etc/mosquitto/hotpot
readonly MOSQUITTO_CONF=/etc/mosquitto/conf.d/hotpot.conf
# Written from central.json's recovery procedures (hotpot central polkit): the units user hotpot may change.
readonly POLKIT_RULE=/etc/polkit-1/rules.d/50-hotpot-central.rules
readonly UNIT_ALLOW_LIST=$ETC_DIR/systemd-units.allow
# journalctl in the runbook's diagnostics reads the system journal through this group.
readonly CENTRAL_GROUPS=(systemd-journal)
# pg_dump, pg_restore and pg_isready for the runbook's backups and database checks.
readonly CENTRAL_PACKAGES=(pg_dump:postgresql-client)

usage() {
  cat <<EOF
usage: install/central.sh [--config FILE] [--ca-dir DIR] [--broker-name NAME ...]
                          [--no-mosquitto] [--bundle FILE | --source DIR] [--root DIR]
                          [--status-url URL --service UNIT --database-url URL --chain-node NAME=URL ...
                           [more 'hotpot central init' options] [--force]]
       install/central.sh --uninstall [--purge] [--root DIR]

Installs central: postgresql-client (apt-get, when missing), system user $SERVICE_USER (group
${CENTRAL_GROUPS[*]}), the app in $APP_DIR (npm ci --omit=dev, or a bundle), config in
$ETC_DIR/central.json (0600), data in $DATA_DIR, the systemd unit $UNIT (enabled and started),
the Mosquitto broker config ($MOSQUITTO_CONF, $MOSQUITTO_DIR/{acl,passwd,certs}), and the polkit
rule $POLKIT_RULE with its allow-list $UNIT_ALLOW_LIST: user $SERVICE_USER may start, stop
and restart exactly the units central.json's procedures name.

  --config FILE       install this central.json (otherwise an existing one is kept, or a
                      default one is written that joins the local Mosquitto as $CENTRAL_USER)
  --ca-dir DIR        the franchise CA from 'hotpot provision-ca' (default $ETC_DIR/ca; made
                      there when missing)
  --broker-name NAME  a DNS name or IP the points dial, for the broker certificate (repeat it)
  --no-mosquitto      leave Mosquitto alone (embedded broker, or an external cluster)
  --status-url URL, --service UNIT, --database-url URL, --chain-node NAME=URL (repeat it), and
  --service-host, --database-service, --chain-service, --chain-restore, --chain-height-path,
  --chain-hash-path, --chain-block-hash-path, --ssh-user, --chat-webhook, --public-url, --backup-dir
                      hand these to 'hotpot central init': central.json gets the runbook's
                      procedures (main server, database, chain), backups and notify contacts
                      (--force replaces sections edited by hand)
  --bundle FILE       install a release bundle (npm run bundle): no npm registry, no compiler
  --source DIR        the built app to install (default: this checkout)
  --root DIR          install under DIR instead of / (no services are touched)
  --uninstall         stop and remove the service, the app and the broker config; keeps
                      $ETC_DIR, $DATA_DIR and the password file
  --purge             with --uninstall: also remove central.json, data and the user (never the CA)
EOF
}

CONFIG_FILE=""
CA_DIR=""
BROKER_NAMES=()
WITH_MOSQUITTO=1
INIT_ARGS=()
while [[ $# -gt 0 ]]; do
  case "$1" in
    --status-url | --service | --service-host | --database-url | --database-service | --chain-node | --chain-service | \
      --chain-restore | --chain-height-path | --chain-hash-path | --chain-block-hash-path | --ssh-user | --chat-webhook | \
      --public-url | --backup-dir)
      INIT_ARGS+=("$1" "${2:?$1 needs a value}"); shift 2 ;;
    --config) CONFIG_FILE="${2:?--config needs a file}"; shift 2 ;;
    --ca-dir) CA_DIR="${2:?--ca-dir needs a directory}"; shift 2 ;;
    --broker-name) BROKER_NAMES+=("${2:?--broker-name needs a name}"); shift 2 ;;
    --no-mosquitto) WITH_MOSQUITTO=0; shift ;;
    *) common_option "$@"; shift "$SHIFT_BY" ;;
  esac
done

# The CA dir as a real path (it is read, and written by provision-ca, from this host).
ca_dir() { printf '%s\n' "${CA_DIR:-$ROOT$ETC_DIR/ca}"; }

ensure_ca() {
  local dir
  dir="$(ca_dir)"
  if [[ -f $dir/ca.crt && -f $dir/server.crt && -f $dir/server.key ]]; then return 0; fi
  local -a names=()
  local name
  for name in "${BROKER_NAMES[@]}"; do names+=(--server-name "$name"); done
  "$NODE_BIN" "$ROOT$APP_DIR/dist/bin/hotpot.js" provision-ca --out "$dir" "${names[@]}"
  changed "made the franchise CA and broker certificate in $dir"
}

# The password file line for central's user, hashed by mosquitto_passwd itself.
central_password_line() {
  local tmp
  tmp="$(mktemp)"
  printf '%s:%s\n' "$CENTRAL_USER" "$1" >"$tmp"
  mosquitto_passwd -U "$tmp"
  cat "$tmp"
  rm -f "$tmp"
}

# Adds central's line to the password file when it has none (central.json holds the password).
ensure_central_in_passwd() {
  local passwd="$ROOT$MOSQUITTO_DIR/passwd" config="$ROOT$ETC_DIR/central.json" owner="$1" user password
  [[ -f $config ]] || return 0
  user="$(json_get "$config" mqtt.username)"
  password="$(json_get "$config" mqtt.password)"
  [[ $user == "$CENTRAL_USER" && -n $password ]] || return 0
  grep -q "^$CENTRAL_USER:" "$passwd" && return 0
  { cat "$passwd"; central_password_line "$password"; } | install_text "$MOSQUITTO_DIR/passwd" 0640 "$owner"
}

install_mosquitto() {
  command -v mosquitto_passwd >/dev/null || die "Mosquitto is not installed (apt-get install mosquitto), or pass --no-mosquitto"
  if live; then check_mosquitto_conf; fi
  local group_owner="0:0" before=$CHANGES dir
  if group_exists mosquitto; then
    group_owner="0:$(awk -F: '$1 == "mosquitto" { print $3 }' "$ROOT/etc/group")"
  elif live; then
    die "there is no mosquitto group: is the mosquitto package installed?"
  fi
  ensure_ca
  dir="$(ca_dir)"
  ensure_dir "$MOSQUITTO_DIR" 0750 "$group_owner"
  install_file "$dir/ca.crt" "$MOSQUITTO_DIR/ca.crt" 0644 0:0
  install_file "$dir/server.crt" "$MOSQUITTO_DIR/server.crt" 0644 0:0
  install_file "$dir/server.key" "$MOSQUITTO_DIR/server.key" 0640 "$group_owner"
  install_file "$INSTALL_DIR/mosquitto/hotpot.acl" "$MOSQUITTO_DIR/acl" 0640 "$group_owner"
  if [[ ! -f $ROOT$MOSQUITTO_DIR/passwd ]]; then : | install_text "$MOSQUITTO_DIR/passwd" 0640 "$group_owner"; fi
  render "$INSTALL_DIR/mosquitto/hotpot.conf" "DIR=$MOSQUITTO_DIR" | install_text "$MOSQUITTO_CONF" 0644 0:0
  # Central (user hotpot) verifies the broker with the CA certificate; the boxes get the same file.
  install_file "$dir/ca.crt" "$ETC_DIR/ca.crt" 0644 0:0
  BROKER_OWNER="$group_owner"
  BROKER_CHANGES=$((CHANGES - before))
}

check_mosquitto_conf() {
  local conf=/etc/mosquitto/mosquitto.conf
  grep -qE '^\s*include_dir\s+/etc/mosquitto/conf.d' "$conf" ||
    die "$conf does not include /etc/mosquitto/conf.d: add 'include_dir /etc/mosquitto/conf.d'"
  if grep -qE '^\s*(allow_anonymous\s+true|listener\s)' "$conf"; then
    warn "$conf has its own listener or allow_anonymous true; $MOSQUITTO_CONF expects to own them"
  fi
}

# central.json: the one given, else the one there, else a default joining the local broker.
install_config() {
  local owner="$1" tmp
  if [[ -n $CONFIG_FILE ]]; then
    install_file "$CONFIG_FILE" "$ETC_DIR/central.json" 0600 "$owner"
    return
  fi
  [[ -f $ROOT$ETC_DIR/central.json ]] && return 0
  tmp="$(mktemp)"
  HOTPOT_NEW_PASSWORD="$("$NODE_BIN" -p 'require("node:crypto").randomBytes(32).toString("base64url")')" \
    "$NODE_BIN" -e '
      const [file, dataDir, ca, user, withBroker] = process.argv.slice(1);
      const config = { dataDir, http: { host: "127.0.0.1", port: 8080 } };
      if (withBroker === "1") {
        config.mqtt = { url: "mqtts://127.0.0.1:8883", username: user, password: process.env.HOTPOT_NEW_PASSWORD, ca };
      }
      require("node:fs").writeFileSync(file, JSON.stringify(config, null, 2) + "\n");
    ' "$tmp" "$DATA_DIR" "$ETC_DIR/ca.crt" "$CENTRAL_USER" "$WITH_MOSQUITTO"
  install_file "$tmp" "$ETC_DIR/central.json" 0600 "$owner"
  rm -f "$tmp"
}

# Hands the runbook facts to `hotpot central init` (the installed app), which merges the procedures,
# backups and contacts into central.json and changes nothing when they are there already.
init_runbook() {
  [[ ${#INIT_ARGS[@]} -gt 0 ]] || return 0
  local config="$ROOT$ETC_DIR/central.json" before after
  local -a force=()
  if [[ $FORCE -eq 1 ]]; then force=(--force); fi
  before="$(sha256sum "$config" | cut -d' ' -f1)"
  "$NODE_BIN" "$ROOT$APP_DIR/dist/bin/hotpot.js" central init --config "$config" "${INIT_ARGS[@]}" "${force[@]}" >/dev/null ||
    die "hotpot central init refused (above); central.json is unchanged"
  after="$(sha256sum "$config" | cut -d' ' -f1)"
  if [[ $before != "$after" ]]; then changed "wrote the runbook's procedures, backups and contacts into $ETC_DIR/central.json"; fi
}

# The polkit rule and its allow-list, made by the installed app from central.json; none when
# the procedures restart nothing (a fixture app that prints nothing counts as that).
install_polkit_rule() {
  local config="$ROOT$ETC_DIR/central.json" hotpot="$ROOT$APP_DIR/dist/bin/hotpot.js" allow rule
  [[ -f $config ]] || return 0
  allow="$("$NODE_BIN" "$hotpot" central polkit --config "$config" --allow-list)" || die "hotpot central polkit failed on $config"
  if [[ -z $allow ]]; then
    remove_path "$POLKIT_RULE"
    remove_path "$UNIT_ALLOW_LIST"
    return 0
  fi
  rule="$("$NODE_BIN" "$hotpot" central polkit --config "$config")" || die "hotpot central polkit failed on $config"
  printf '%s\n' "$allow" | install_text "$UNIT_ALLOW_LIST" 0644 0:0
  printf '%s\n' "$rule" | install_text "$POLKIT_RULE" 0644 0:0
  if live && ! command -v pkaction >/dev/null 2>&1; then
    warn "polkit is not installed (apt-get install polkitd): $SERVICE_USER cannot restart $(tr '\n' ' ' <<<"$allow")"
  fi
}

do_install() {
  unpack_bundle
  check_source
  ensure_packages "${CENTRAL_PACKAGES[@]}"
  ensure_user "${CENTRAL_GROUPS[@]}"
  local owner
  owner="$(owner_of "$SERVICE_USER")"
  ensure_dir "$ETC_DIR" 0750 "0:${owner#*:}"
  ensure_dir "$DATA_DIR" 0750 "$owner"
  install_app "$UNIT"
  ensure_app_locked_down
  if [[ $WITH_MOSQUITTO -eq 1 ]]; then
    install_mosquitto
    install_config "$owner"
    local before=$CHANGES
    ensure_central_in_passwd "$BROKER_OWNER"
    BROKER_CHANGES=$((BROKER_CHANGES + CHANGES - before))
    if live; then
      systemctl enable --quiet mosquitto.service
      if [[ $BROKER_CHANGES -gt 0 ]]; then systemctl restart mosquitto.service; log "restarted mosquitto"; fi
    fi
  else
    install_config "$owner"
  fi
  init_runbook
  install_polkit_rule
  install_unit "$UNIT"
  activate_unit "$UNIT"
}

do_uninstall() {
  deactivate_unit "$UNIT"
  remove_path "$POLKIT_RULE"
  remove_path "$UNIT_ALLOW_LIST"
  remove_app
  remove_path "$MOSQUITTO_CONF"
  for file in acl ca.crt server.crt server.key; do remove_path "$MOSQUITTO_DIR/$file"; done
  if live && [[ $CHANGES -gt 0 ]] && systemctl is-active --quiet mosquitto.service; then systemctl restart mosquitto.service; fi
  if [[ $PURGE -eq 1 ]]; then
    remove_path "$ETC_DIR/central.json"
    remove_path "$ETC_DIR/ca.crt"
    remove_path "$DATA_DIR"
    remove_user
    log "kept the franchise CA in $(ca_dir) and the broker's password file $MOSQUITTO_DIR/passwd: delete them by hand if you mean it"
  else
    log "kept $ETC_DIR, $DATA_DIR and $MOSQUITTO_DIR/passwd; --purge removes config and data"
  fi
}

if [[ -n $CONFIG_FILE && ${#INIT_ARGS[@]} -gt 0 ]]; then
  # Each run would put FILE back, then the runbook over it: never "nothing to change".
  die "--config FILE and the runbook options (--status-url ...) do not go together: run 'hotpot central init --config FILE ...' on your file, then install it with --config"
fi

BROKER_OWNER=0:0
BROKER_CHANGES=0
require_privileges
check_node
if [[ $UNINSTALL -eq 1 ]]; then do_uninstall; else do_install; fi
finish
