# shellcheck shell=bash
# Shared by install/agent.sh and install/central.sh (sourced, never run). Every step first looks
# at what is there and changes only what differs, so a second run changes nothing.

# `render ... | install_text ...` must count its changes in this shell, not in a subshell.
shopt -s lastpipe

readonly NODE_MIN=20.19.0
# The Node majors CI runs the suite on (package.json engines, .ci/run).
readonly NODE_TESTED=(20 22 24)
readonly APP_DIR=/opt/hotpot
readonly ETC_DIR=/etc/hotpot
readonly DATA_DIR=/var/lib/hotpot
readonly SERVICE_USER=hotpot
readonly INSTALL_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

ROOT=""                                # --root DIR: install under DIR (tests, image builds)
SOURCE="$(dirname "$INSTALL_DIR")"    # --source DIR: the built app (package.json, lock, dist/)
BUNDLE=""                              # --bundle FILE: a release from install/bundle.sh
FORCE=0
UNINSTALL=0
PURGE=0
CHANGES=0
NODE_BIN=""

# common_option "$@" — the options both installers take; sets SHIFT_BY to the words it used.
# Each script defines usage().
common_option() {
  case "$1" in
    --force) FORCE=1; SHIFT_BY=1 ;;
    --source) SOURCE="${2:?--source needs a directory}"; SHIFT_BY=2 ;;
    --bundle) BUNDLE="${2:?--bundle needs a file}"; SHIFT_BY=2 ;;
    --root) ROOT="${2:?--root needs a directory}"; SHIFT_BY=2 ;;
    --uninstall) UNINSTALL=1; SHIFT_BY=1 ;;
    --purge) PURGE=1; SHIFT_BY=1 ;;
    -h | --help) usage; exit 0 ;;
    *) usage >&2; die "unknown option: $1" ;;
  esac
}

log() { printf '%s: %s\n' "$PROG" "$*"; }
warn() { printf '%s: warning: %s\n' "$PROG" "$*" >&2; }
die() { printf '%s: error: %s\n' "$PROG" "$*" >&2; exit 1; }
changed() { CHANGES=$((CHANGES + 1)); log "changed: $*"; }

# --root mode touches only files under ROOT: no running services, no host accounts.
live() { [[ -z $ROOT ]]; }
# Without root (a --root install by a normal user) accounts and ownership are left alone.
privileged() { [[ $EUID -eq 0 ]]; }

require_privileges() {
  if live && [[ $EUID -ne 0 ]]; then die "run as root (sudo $0 ...), or with --root DIR to install into a directory"; fi
  if [[ -n $ROOT ]]; then
    [[ -d $ROOT ]] || die "--root $ROOT is not a directory"
    ROOT="$(cd "$ROOT" && pwd)"
  fi
}

check_node() {
  NODE_BIN="$(command -v node || true)"
  [[ -n $NODE_BIN ]] || die "node is not installed; install Node.js >= $NODE_MIN (https://deb.nodesource.com)"
  local version
  version="$("$NODE_BIN" -p 'process.versions.node')"
  "$NODE_BIN" -e '
    const [have, want] = process.argv.slice(1).map((v) => v.split(".").map(Number));
    for (let i = 0; i < 3; i++) if (have[i] !== want[i]) process.exit(have[i] > want[i] ? 0 : 1);
  ' "$version" "$NODE_MIN" || die "node $version at $NODE_BIN is too old; hotpot needs >= $NODE_MIN"
  if [[ " ${NODE_TESTED[*]} " != *" ${version%%.*} "* ]]; then
    warn "node $version is not a Node major hotpot is tested on (${NODE_TESTED[*]}): it may work, nobody has checked"
  fi
}

check_source() {
  bundled && return 0 # checked by unpack_bundle and extract_bundle
  local file
  for file in package.json package-lock.json dist/bin/hotpot.js; do
    [[ -f $SOURCE/$file ]] || die "$SOURCE/$file is missing: build the app first (npm ci && npm run build), or pass --source DIR"
  done
}

# One fingerprint for everything that is laid into APP_DIR: equal → nothing to upgrade.
# What a release is made of besides dist/: files read at run time (pages, dashboard, sample menu).
RUNTIME_ASSETS=(agent/page/static central/dashboard/static install/menu.sample.json)

# The runtime assets the source tree has (a trimmed test app may have none).
present_assets() {
  local asset
  for asset in "${RUNTIME_ASSETS[@]}"; do
    if [[ -e $SOURCE/$asset ]]; then printf '%s\n' "$asset"; fi
  done
}

release_fingerprint() {
  if bundled; then
    sha256sum "$SOURCE/SHA256SUMS" | cut -d' ' -f1
    return
  fi
  local -a assets
  mapfile -t assets < <(present_assets)
  (cd "$SOURCE" && find package.json package-lock.json dist "${assets[@]}" -type f -print0 | LC_ALL=C sort -z | xargs -0 sha256sum) | sha256sum | cut -d' ' -f1
}

# ---- release bundles (install/bundle.sh) ---------------------------------------------------

# unpack_bundle — checks --bundle FILE (its .sha256 beside it when there; the Node ABI and
# platform its bundle.json names) and makes it the SOURCE. Only bundle.json and SHA256SUMS come
# out here: the release's fingerprint is the hash of SHA256SUMS (every file of it), so a re-run
# of the same bundle costs one read of the tarball. Nothing here reaches a registry or a compiler.
unpack_bundle() {
  [[ -n $BUNDLE ]] || return 0
  [[ -f $BUNDLE ]] || die "--bundle $BUNDLE: no such file"
  local file dir want have
  file="$(cd "$(dirname "$BUNDLE")" && pwd)/$(basename "$BUNDLE")"
  if [[ -f $file.sha256 ]]; then
    (cd "$(dirname "$file")" && sha256sum --check --quiet --strict "$(basename "$file").sha256" >/dev/null 2>&1) ||
      die "$file does not match $file.sha256: a damaged or altered download"
  fi
  BUNDLE="$file"
  BUNDLE_DIR="$(mktemp -d)"
  trap 'rm -rf "$BUNDLE_DIR"' EXIT
  tar -xzf "$file" -C "$BUNDLE_DIR" --no-same-owner hotpot-edge/bundle.json hotpot-edge/SHA256SUMS 2>/dev/null ||
    die "$file is not a hotpot bundle (no hotpot-edge/bundle.json and SHA256SUMS in it)"
  dir="$BUNDLE_DIR/hotpot-edge"
  want="$(json_get "$dir/bundle.json" nodeAbi) $(json_get "$dir/bundle.json" platform)-$(json_get "$dir/bundle.json" arch)"
  have="$("$NODE_BIN" -p 'process.versions.modules + " " + process.platform + "-" + process.arch')"
  [[ $want == "$have" ]] ||
    die "$file was built for Node ABI ${want% *} on ${want#* } ($(json_get "$dir/bundle.json" node)); $NODE_BIN is $("$NODE_BIN" --version), ABI ${have% *} on ${have#* }: use a bundle built with this Node major (npm run bundle)"
  SOURCE="$dir"
}

bundled() { [[ -n $BUNDLE ]]; }

# extract_bundle DIR — the whole bundle into DIR (beside APP_DIR: the swap is then a rename), each
# file checked against SHA256SUMS. Only when it is to be installed.
extract_bundle() {
  local into="$1" unpack="$1.unpack"
  rm -rf "$unpack"
  mkdir -p "$unpack"
  tar -xzf "$BUNDLE" -C "$unpack" --no-same-owner 2>/dev/null || { rm -rf "$unpack"; die "$BUNDLE: tar could not read it"; }
  if ! (cd "$unpack/hotpot-edge" && sha256sum --check --quiet --strict SHA256SUMS >/dev/null 2>&1); then
    rm -rf "$unpack"
    die "$BUNDLE: a file inside does not match its SHA256SUMS"
  fi
  [[ -f $unpack/hotpot-edge/dist/bin/hotpot.js && -d $unpack/hotpot-edge/node_modules ]] || { rm -rf "$unpack"; die "$BUNDLE has no dist/bin/hotpot.js and node_modules"; }
  mv "$unpack/hotpot-edge" "$into"
  rm -rf "$unpack"
}

installed_fingerprint() {
  if [[ -f $ROOT$APP_DIR/.release ]]; then cat "$ROOT$APP_DIR/.release"; fi
}

app_needs_update() { [[ "$(release_fingerprint)" != "$(installed_fingerprint)" ]]; }

# ---- Debian packages ------------------------------------------------------------------------

# ensure_packages PROGRAM:PACKAGE... — installs each package whose program is missing (live installs
# only: a --root install leaves the host's packages alone). A box without a package mirror gets a
# warning, not a failed install: `hotpot doctor` names what is missing.
ensure_packages() {
  live || return 0
  local pair program package
  local -a missing=()
  for pair in "$@"; do
    program="${pair%%:*}" package="${pair#*:}"
    command -v "$program" >/dev/null 2>&1 || missing+=("$package")
  done
  [[ ${#missing[@]} -gt 0 ]] || return 0
  if ! command -v apt-get >/dev/null 2>&1; then
    warn "cannot install ${missing[*]}: no apt-get here; install them by hand"
    return 0
  fi
  if DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >&2; then
    changed "installed ${missing[*]}"
  else
    warn "apt-get could not install ${missing[*]}; install them by hand (hotpot doctor checks for them)"
  fi
}

# ---- accounts ----------------------------------------------------------------------------

root_args() { if [[ -n $ROOT ]]; then printf '%s\n' --root "$ROOT"; fi; }

group_members() { awk -F: -v g="$1" '$1 == g { print $4 }' "$ROOT/etc/group"; }
group_exists() { grep -q "^$1:" "$ROOT/etc/group"; }
user_exists() { [[ -f $ROOT/etc/passwd ]] && grep -q "^$1:" "$ROOT/etc/passwd"; }

# ensure_user [GROUP...] — the system user, in each listed group that exists.
ensure_user() {
  if [[ -n $ROOT && ! -f $ROOT/etc/passwd ]] || ! privileged; then
    warn "not creating the $SERVICE_USER user (no $ROOT/etc/passwd, or not root)"
    return
  fi
  local -a rootopt
  mapfile -t rootopt < <(root_args)
  local -a groups=()
  local group
  for group in "$@"; do
    if group_exists "$group"; then groups+=("$group"); else warn "group $group does not exist: $SERVICE_USER will not be in it"; fi
  done
  if ! user_exists "$SERVICE_USER"; then
    local -a groupopt=()
    if [[ ${#groups[@]} -gt 0 ]]; then groupopt=(--groups "$(IFS=,; echo "${groups[*]}")"); fi
    useradd "${rootopt[@]}" --system --user-group --no-create-home --home-dir "$DATA_DIR" \
      --shell /usr/sbin/nologin "${groupopt[@]}" "$SERVICE_USER"
    changed "created system user $SERVICE_USER${groups[*]:+ (groups ${groups[*]})}"
    return
  fi
  for group in "${groups[@]}"; do
    if [[ ",$(group_members "$group")," != *",$SERVICE_USER,"* ]]; then
      usermod "${rootopt[@]}" --append --groups "$group" "$SERVICE_USER"
      changed "added $SERVICE_USER to group $group"
    fi
  done
}

remove_user() {
  user_exists "$SERVICE_USER" || return 0
  local -a rootopt
  mapfile -t rootopt < <(root_args)
  userdel "${rootopt[@]}" "$SERVICE_USER"
  changed "removed system user $SERVICE_USER"
}

# "uid:gid" for chown, looked up in ROOT's account files; root when the account is not there.
owner_of() {
  local user="$1" group="${2:-$1}" uid gid
  uid="$(awk -F: -v u="$user" '$1 == u { print $3 }' "$ROOT/etc/passwd" 2>/dev/null || true)"
  gid="$(awk -F: -v g="$group" '$1 == g { print $3 }' "$ROOT/etc/group" 2>/dev/null || true)"
  printf '%s:%s\n' "${uid:-0}" "${gid:-0}"
}

# ---- files -------------------------------------------------------------------------------

# Paths below are absolute and without ROOT; the functions add it.

# ensure_mode PATH MODE UID:GID — fixes mode and owner where they differ.
ensure_mode() {
  local path="$ROOT$1" mode="$2" owner="$3"
  if [[ "$(stat -c '%a' "$path")" != "${mode#0}" ]]; then chmod "$mode" "$path"; changed "mode $mode on $1"; fi
  if privileged && [[ "$(stat -c '%u:%g' "$path")" != "$owner" ]]; then chown "$owner" "$path"; changed "owner $owner on $1"; fi
}

# ensure_dir PATH MODE UID:GID
ensure_dir() {
  if [[ ! -d $ROOT$1 ]]; then mkdir -p "$ROOT$1"; changed "created $1"; fi
  ensure_mode "$1" "$2" "$3"
}

# install_file SRC DEST MODE UID:GID — copies only when the content differs.
install_file() {
  local src="$1" dest="$ROOT$2"
  if ! cmp -s "$src" "$dest"; then
    mkdir -p "$(dirname "$dest")"
    install -m "$3" "$src" "$dest"
    changed "wrote $2"
  fi
  ensure_mode "$2" "$3" "$4"
}

# install_text DEST MODE UID:GID < content
install_text() {
  local tmp
  tmp="$(mktemp)"
  cat >"$tmp"
  install_file "$tmp" "$@"
  rm -f "$tmp"
}

# render TEMPLATE KEY=VALUE... — replaces @KEY@ placeholders.
render() {
  local template="$1" text pair
  shift
  text="$(<"$template")"
  for pair in "$@"; do text="${text//@${pair%%=*}@/${pair#*=}}"; done
  printf '%s\n' "$text"
}

remove_path() {
  [[ $1 == /?* ]] || die "refusing to remove '$1': not an absolute path"
  if [[ -e $ROOT$1 || -L $ROOT$1 ]]; then rm -rf -- "$ROOT$1"; changed "removed $1"; fi
}

# Reads a JSON file's key (dotted path) with node; prints nothing when absent.
json_get() {
  "$NODE_BIN" -e '
    const [file, path] = process.argv.slice(1);
    let value;
    try {
      value = JSON.parse(require("node:fs").readFileSync(file, "utf8"));
    } catch (error) {
      process.stderr.write(`${file} is not a readable JSON file: ${error.message}\n`);
      process.exit(1);
    }
    for (const key of path.split(".")) value = value == null ? undefined : value[key];
    if (value !== undefined && value !== null) process.stdout.write(String(value));
  ' "$1" "$2"
}

# ---- the app -----------------------------------------------------------------------------

# copy_release DIR — what a release is made of (package files, dist/, the runtime assets) from
# SOURCE into DIR, without `prepare`: it builds from TypeScript, which a production install has
# neither sources nor compiler for.
copy_release() {
  local into="$1" asset
  mkdir -p "$into"
  cp -a "$SOURCE/package.json" "$SOURCE/package-lock.json" "$SOURCE/dist" "$into/"
  while IFS= read -r asset; do
    mkdir -p "$into/$(dirname "$asset")"
    cp -a "$SOURCE/$asset" "$into/$asset"
  done < <(present_assets)
  (cd "$into" && npm pkg delete scripts.prepare >/dev/null)
}

# install_app UNIT — lays the built app into APP_DIR through a staging copy, so a failed npm ci
# leaves the running release untouched; UNIT is stopped only for the swap. The previous release
# stays in APP_DIR.previous for a manual rollback.
install_app() {
  app_needs_update || return 0
  local stage="$ROOT$APP_DIR.staging" fingerprint
  fingerprint="$(release_fingerprint)"
  rm -rf "$stage"
  if bundled; then
    # Built for this Node and platform (unpack_bundle checked): no registry, no compiler.
    extract_bundle "$stage"
  else
    copy_release "$stage"
    log "installing production dependencies (npm ci --omit=dev)"
    (cd "$stage" && npm_config_update_notifier=false npm ci --omit=dev --no-audit --no-fund --loglevel=error >&2) ||
      die "npm ci failed in $stage; the installed release is unchanged"
  fi
  printf '%s\n' "$fingerprint" >"$stage/.release"
  lock_down_app "$stage"
  stop_service "$1"
  if [[ -d $ROOT$APP_DIR ]]; then
    rm -rf "$ROOT$APP_DIR.previous"
    mv "$ROOT$APP_DIR" "$ROOT$APP_DIR.previous"
  fi
  mv "$stage" "$ROOT$APP_DIR"
  chmod 0755 "$ROOT$APP_DIR"
  changed "installed the app in $APP_DIR (release ${fingerprint:0:12})"
}

# The app runs as hotpot and, for provision-ca and provision-point, as root: whoever owned the
# checkout or the bundle, only root may change a file of it. Prints the first path that breaks
# that rule (owner not root, or writable by group or others); nothing when all is well.
app_not_locked_down() {
  if privileged; then
    find "$1" \( ! -user 0 -o ! -group 0 -o \( ! -type l -perm /022 \) \) -print -quit
  else
    find "$1" ! -type l -perm /022 -print -quit
  fi
}

lock_down_app() {
  if privileged; then chown -R --no-dereference 0:0 "$1"; fi
  chmod -R u+rwX,go+rX,go-w "$1"
}

# An app laid by an older installer may still belong to the checkout's owner: fix it in place.
ensure_app_locked_down() {
  [[ -d $ROOT$APP_DIR ]] || return 0
  local offender
  offender="$(app_not_locked_down "$ROOT$APP_DIR")"
  [[ -n $offender ]] || return 0
  lock_down_app "$ROOT$APP_DIR"
  changed "made $APP_DIR root's and writable by no one else (${offender#"$ROOT"} was not)"
}

remove_app() {
  remove_path "$APP_DIR"
  remove_path "$APP_DIR.previous"
  remove_path "$APP_DIR.staging"
}

# ---- systemd -----------------------------------------------------------------------------

# install_unit NAME — renders install/systemd/NAME into /etc/systemd/system.
install_unit() {
  render "$INSTALL_DIR/systemd/$1" "NODE=$NODE_BIN" "APP_DIR=$APP_DIR" "ETC_DIR=$ETC_DIR" "DATA_DIR=$DATA_DIR" "USER=$SERVICE_USER" |
    install_text "/etc/systemd/system/$1" 0644 0:0
}

# Stops a running service before its files are swapped underneath it (live installs only).
stop_service() {
  if live && systemctl is-active --quiet "$1"; then systemctl stop "$1"; log "stopped $1"; fi
}

# Enables the unit; on a live system also (re)starts it: restart when this run changed anything.
activate_unit() {
  local unit="$1"
  if [[ -n $ROOT ]]; then
    systemctl --root="$ROOT" is-enabled --quiet "$unit" 2>/dev/null || {
      systemctl --root="$ROOT" enable --quiet "$unit" 2>/dev/null
      changed "enabled $unit"
    }
    return
  fi
  systemctl daemon-reload
  systemctl is-enabled --quiet "$unit" || { systemctl enable --quiet "$unit"; changed "enabled $unit"; }
  if [[ $CHANGES -gt 0 ]]; then systemctl restart "$unit"; log "restarted $unit"; else systemctl start "$unit"; fi
}

deactivate_unit() {
  local unit="$1"
  [[ -f $ROOT/etc/systemd/system/$unit ]] || return 0
  if [[ -n $ROOT ]]; then
    systemctl --root="$ROOT" disable --quiet "$unit" 2>/dev/null || true
  else
    systemctl disable --now --quiet "$unit" || true
  fi
  remove_path "/etc/systemd/system/$unit"
  if live; then systemctl daemon-reload; fi
}

finish() {
  if [[ $CHANGES -eq 0 ]]; then log "nothing to change"; else log "done: $CHANGES change(s)"; fi
}
