#!/usr/bin/env bash
# Installs (or upgrades, or removes) the hotpot agent on a point's box. Idempotent: run it again
# at any time; it changes only what differs. See docs/OPERATIONS.md, "Install a box".
set -euo pipefail

PROG=hotpot-agent-install
# shellcheck source=install/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

readonly UNIT=hotpot-agent.service
# smartctl -H needs root: this root oneshot, on its timer, writes the disks' verdicts for the agent.
readonly SMART_UNIT=hotpot-smart.service
readonly SMART_TIMER=hotpot-smart.timer
readonly SMART_DIR=/var/lib/hotpot-smart
readonly UDEV_RULE=/etc/udev/rules.d/99-hotpot-printer.rules
# An older installer let the agent run smartctl through sudo, which its sandbox refuses: removed.
readonly OLD_SUDOERS_RULE=/etc/sudoers.d/hotpot-smartctl
# Printer (serial, usblp) and camera device access.
readonly DEVICE_GROUPS=(dialout video lp)
# Programs the box runs: fswebcam captures from a USB camera; smartctl (hotpot-smart.service) asks the disks' health.
readonly BOX_PACKAGES=(fswebcam:fswebcam smartctl:smartmontools)

usage() {
  cat <<EOF
usage: install/agent.sh [--point-dir DIR] [--printer-usb-id VVVV:PPPP] [--force]
                        [--bundle FILE | --source DIR] [--root DIR]
       install/agent.sh --uninstall [--purge] [--force] [--root DIR]

Installs the agent: fswebcam and smartmontools (apt-get, when missing), system user $SERVICE_USER (groups
${DEVICE_GROUPS[*]}), the app in $APP_DIR (npm ci --omit=dev, or a release bundle), config in $ETC_DIR/agent.json (0600), data in $DATA_DIR, the systemd
unit $UNIT (enabled and started), and $SMART_TIMER with $SMART_UNIT (root: smartctl -H on each
disk at boot and every 6 h into $SMART_DIR/smart.json, which the agent's disk check reads).

  --point-dir DIR         the directory from 'hotpot provision-point' (agent.json, ca.crt,
                          client.crt/.key, https.crt/.key); needed on the first install, replaces the config after
  --printer-usb-id V:P    install the udev rule that names the printer /dev/hotpot-printer
  --force                 upgrade (or purge) even while the outbox holds unsynced orders
  --bundle FILE           install a release bundle (npm run bundle): no npm registry, no compiler
  --source DIR            the built app to install (default: this checkout)
  --root DIR              install under DIR instead of / (no services are touched)
  --uninstall             stop and remove the service and the app; keeps config and orders
  --purge                 with --uninstall: also remove config, data (orders!) and the user
EOF
}

POINT_DIR=""
PRINTER_USB_ID=""
while [[ $# -gt 0 ]]; do
  case "$1" in
    --point-dir) POINT_DIR="${2:?--point-dir needs a directory}"; shift 2 ;;
    --printer-usb-id) PRINTER_USB_ID="${2:?--printer-usb-id needs VVVV:PPPP}"; shift 2 ;;
    *) common_option "$@"; shift "$SHIFT_BY" ;;
  esac
done

# The data dir the installed config names (relative paths resolve in the unit's WorkingDirectory).
agent_data_dir() {
  local config="$ROOT$ETC_DIR/agent.json" dir=""
  if [[ -f $config ]]; then dir="$(json_get "$config" dataDir)"; fi
  dir="${dir:-$DATA_DIR}"
  [[ $dir == /* ]] || dir="$DATA_DIR/$dir"
  printf '%s\n' "$dir"
}

# Prints how many orders in agent.db central has not acked yet. Reads the file with the
# better-sqlite3 of the installed app (or of the new one), else the sqlite3 CLI; fails if none can.
unsynced_orders() {
  local db="$1" app
  for app in "$ROOT$APP_DIR" "$SOURCE"; do
    if "$NODE_BIN" -e '
      const [app, db] = process.argv.slice(1);
      let Database;
      try {
        Database = require("node:module").createRequire(`${app}/package.json`)("better-sqlite3");
      } catch {
        process.exit(3);
      }
      const conn = new Database(db, { readonly: true, fileMustExist: true, timeout: 10000 });
      process.stdout.write(String(conn.prepare("SELECT COUNT(*) AS n FROM orders WHERE synced_at IS NULL").get().n));
    ' "$app" "$db" 2>/dev/null; then
      return 0
    fi
  done
  if command -v sqlite3 >/dev/null; then
    sqlite3 -readonly "$db" 'SELECT COUNT(*) FROM orders WHERE synced_at IS NULL;'
    return
  fi
  return 1
}

# Refuses to go on while orders wait for central, unless --force: they are the point's only copy.
guard_outbox() {
  local what="$1" db count
  db="$ROOT$(agent_data_dir)/agent.db"
  [[ -f $db ]] || return 0
  if ! count="$(unsynced_orders "$db")"; then
    [[ $FORCE -eq 1 ]] && { warn "cannot read the outbox in $db; going on (--force)"; return 0; }
    die "cannot read the outbox in $db to check for unsynced orders; $what anyway with --force"
  fi
  [[ $count =~ ^[0-9]+$ ]] || die "unexpected unsynced count '$count' from $db"
  [[ $count -eq 0 ]] && return 0
  if [[ $FORCE -eq 1 ]]; then
    warn "$count unsynced order(s) in $db; going on (--force)"
    return 0
  fi
  die "$count order(s) in $db are not synced to central yet. Restore the link and let them sync (GET /api/health shows 'unsynced'), or $what anyway with --force"
}

install_point_files() {
  local owner="$1"
  if [[ -n $POINT_DIR ]]; then
    [[ -f $POINT_DIR/agent.json ]] || die "$POINT_DIR/agent.json is missing: make it with 'hotpot provision-point <pointId>'"
    install_file "$POINT_DIR/agent.json" "$ETC_DIR/agent.json" 0600 "$owner"
    if [[ -f $POINT_DIR/ca.crt ]]; then install_file "$POINT_DIR/ca.crt" "$ETC_DIR/ca.crt" 0644 0:0; fi
    if [[ -f $POINT_DIR/client.crt ]]; then install_file "$POINT_DIR/client.crt" "$ETC_DIR/client.crt" 0644 0:0; fi
    if [[ -f $POINT_DIR/client.key ]]; then install_file "$POINT_DIR/client.key" "$ETC_DIR/client.key" 0600 "$owner"; fi
    if [[ -f $POINT_DIR/https.crt ]]; then install_file "$POINT_DIR/https.crt" "$ETC_DIR/https.crt" 0644 0:0; fi
    if [[ -f $POINT_DIR/https.key ]]; then install_file "$POINT_DIR/https.key" "$ETC_DIR/https.key" 0600 "$owner"; fi
  fi
  [[ -f $ROOT$ETC_DIR/agent.json ]] || die "no $ETC_DIR/agent.json: pass --point-dir DIR (made by 'hotpot provision-point <pointId>')"
  local data_dir
  data_dir="$(agent_data_dir)"
  if [[ $data_dir != "$DATA_DIR" && $data_dir != "$DATA_DIR"/* ]]; then
    warn "dataDir $data_dir is outside $DATA_DIR: the unit can write only there (ReadWritePaths)"
  fi
}

install_udev_rule() {
  [[ -n $PRINTER_USB_ID ]] || return 0
  [[ $PRINTER_USB_ID =~ ^([0-9a-fA-F]{4}):([0-9a-fA-F]{4})$ ]] || die "--printer-usb-id must be VVVV:PPPP in hex, as lsusb prints it"
  local vendor="${BASH_REMATCH[1],,}" product="${BASH_REMATCH[2],,}" before=$CHANGES
  render "$INSTALL_DIR/udev/99-hotpot-printer.rules" "VENDOR=$vendor" "PRODUCT=$product" | install_text "$UDEV_RULE" 0644 0:0
  if live && [[ $CHANGES -gt $before ]]; then
    udevadm control --reload-rules
    udevadm trigger --subsystem-match=tty --subsystem-match=usbmisc
  fi
}

# The SMART report: its service (started only by the timer) and the timer, enabled and started.
install_smart_timer() {
  install_unit "$SMART_UNIT"
  install_unit "$SMART_TIMER"
  remove_path "$OLD_SUDOERS_RULE"
  activate_unit "$SMART_TIMER"
}

do_install() {
  unpack_bundle
  check_source
  if [[ -f $ROOT$APP_DIR/.release ]] && app_needs_update; then guard_outbox "upgrade"; fi
  ensure_packages "${BOX_PACKAGES[@]}"
  ensure_user "${DEVICE_GROUPS[@]}"
  local owner
  owner="$(owner_of "$SERVICE_USER")"
  ensure_dir "$ETC_DIR" 0750 "0:${owner#*:}"
  ensure_dir "$DATA_DIR" 0750 "$owner"
  install_point_files "$owner"
  install_app "$UNIT"
  ensure_app_locked_down
  install_unit "$UNIT"
  install_udev_rule
  activate_unit "$UNIT"
  install_smart_timer
}

do_uninstall() {
  if [[ $PURGE -eq 1 ]]; then guard_outbox "purge"; fi
  deactivate_unit "$UNIT"
  deactivate_unit "$SMART_TIMER"
  deactivate_unit "$SMART_UNIT"
  remove_path "$UDEV_RULE"
  remove_path "$OLD_SUDOERS_RULE"
  remove_app
  if [[ $PURGE -eq 1 ]]; then
    remove_path "$ETC_DIR"
    remove_path "$DATA_DIR"
    remove_path "$SMART_DIR"
    remove_user
  elif [[ -d $ROOT$ETC_DIR || -d $ROOT$DATA_DIR ]]; then
    log "kept $ETC_DIR and $DATA_DIR (config and orders); --purge removes them"
  fi
}

require_privileges
check_node
if [[ $UNINSTALL -eq 1 ]]; then do_uninstall; else do_install; fi
finish
