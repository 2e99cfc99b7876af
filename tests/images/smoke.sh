#!/usr/bin/env bash
# Smoke test of the engine images (images/*) with configs rendered by
# components/engines/<engine>/config.py. Not part of CI (needs a Docker engine, takes minutes).
#
# Builds novaops/<name>:imgtest, then on a private network `imgtest-smoke`:
#   etcd x3 -> Patroni/Postgres x3 (vector, age, timescaledb) -> valkey+sentinel x3
#   (+ failover) -> NATS JetStream x3 (+ exporter) -> prometheus, alertmanager,
#   redis exporter -> host (SSH as novaops on a 127.0.0.1 port) -> backup.
# Files are copied in the way the orchestrator does it: `docker create`, `docker cp`
# into /etc/novaops (root-owned, 0600 for secrets), `docker start`.
# Every container/network it creates is named imgtest-* and removed on exit
# (KEEP=1 keeps them for debugging). SKIP_BUILD=1 reuses the images.
#
# Usage: tests/images/smoke.sh [etcd postgres valkey nats monitoring host backup]
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ROOT"
D=${DOCKER:-/usr/bin/docker}
PY=${PYTHON:-$ROOT/.venv/bin/python}
TAG=${TAG:-imgtest}
NET=imgtest-smoke
PREFIX=imgtest-smoke
WORK=$(mktemp -d /tmp/imgtest-smoke.XXXXXX)
CREATED=()
FAILED=0
STEPS=("$@")
[ "${#STEPS[@]}" -gt 0 ] || STEPS=(etcd postgres valkey nats monitoring host backup)

log() { printf '\n=== %s\n' "$*"; }
ok() { printf 'OK   %s\n' "$*"; }
fail() { printf 'FAIL %s\n' "$*"; FAILED=$((FAILED + 1)); }
want() { local s; for s in "${STEPS[@]}"; do [ "$s" = "$1" ] && return 0; done; return 1; }

cleanup() {
    local rc=$?
    if [ "${KEEP:-0}" != 1 ]; then
        for c in "${CREATED[@]}"; do "$D" rm -f -v "$c" >/dev/null 2>&1 || true; done
        "$D" network rm "$NET" >/dev/null 2>&1 || true
        rm -rf "$WORK"
    else
        echo "KEEP=1: leaving ${CREATED[*]} and network $NET; files in $WORK"
    fi
    exit "$rc"
}
trap cleanup EXIT

# wait_for DESCRIPTION TRIES SLEEP CMD...: bounded retry of a check command.
wait_for() {
    # (loop variable named so that check functions using $i cannot clobber it)
    local what=$1 tries=$2 pause=$3 _wf_n _wf_start=$SECONDS
    shift 3
    for ((_wf_n = 1; _wf_n <= tries; _wf_n++)); do
        if "$@" >/dev/null 2>&1; then ok "$what (after ${_wf_n} tries, $((SECONDS - _wf_start))s)"; return 0; fi
        sleep "$pause"
    done
    fail "$what (gave up after $tries tries, $((SECONDS - _wf_start))s)"
    return 1
}

# ------------------------------------------------------------------ build
# The image's build context as the project builds it: its directory, or a copy with the files it
# shares with the repository (symlinks, e.g. novaops_nats.py) in place (components/images.py).
context() { "$PY" -c 'import sys; from components.images import build_context; print(build_context(sys.argv[1]))' "$1"; }
build() {
    local name=$1 base=$2 s e
    s=$(date +%s)
    if "$D" build -q -t "novaops/$name:$TAG" --build-arg "BASE_IMAGE=$base" "$ROOT/$(context "$name")" >"$WORK/build-$name.log" 2>&1; then
        e=$(date +%s); ok "build novaops/$name:$TAG ($((e - s))s)"
    else
        cat "$WORK/build-$name.log"; fail "build novaops/$name:$TAG"; exit 1
    fi
}

if [ "${SKIP_BUILD:-0}" != 1 ]; then
    log "build"
    s=$(date +%s)
    "$D" build -q -t "novaops/base:$TAG" "$ROOT/$(context base)" >"$WORK/build-base.log" 2>&1 \
        || { cat "$WORK/build-base.log"; exit 1; }
    ok "build novaops/base:$TAG ($(($(date +%s) - s))s)"
    for n in postgres valkey nats etcd prometheus alertmanager exporters host; do build "$n" "novaops/base:$TAG"; done
    build backup "novaops/host:$TAG"
fi

# ------------------------------------------------------------------ render configs
log "render configs with components/engines/<engine>/config.py"
"$D" network create "$NET" >/dev/null
"$PY" - "$WORK" "$PREFIX" <<'PYEOF'
import json, os, sys
sys.path.insert(0, os.getcwd())
from components.engines.etcd import config as etcd_config
from components.engines.nats import config as nats_config
from components.engines.patroni import config as patroni_config
from components.engines.valkey import config as valkey_config

work, p = sys.argv[1], sys.argv[2]
secret = {"su": "Su-per_secret.1", "rep": "Rep-secret_2", "rw": "Rew-ind.3", "vk": "Valkey-pass_4.x", "nats": "Nats_pass-5.y"}

def put(container, name, text, secret_file=False):
    d = os.path.join(work, "files", container)
    os.makedirs(d, exist_ok=True)
    path = os.path.join(d, name)
    with open(path, "w") as f:
        f.write(text)
    os.chmod(path, 0o600 if secret_file else 0o644)

etcd = [f"{p}-etcd-{i}" for i in (1, 2, 3)]
for m in etcd:
    put(m, "etcd.yml", etcd_config.etcd_yml(member=m, members=etcd, client_port=2379, peer_port=2380, cluster_token=f"{p}-etcd"))

pg = [f"{p}-pg-{i}" for i in (1, 2, 3)]
for m in pg:
    put(m, "patroni.yml", patroni_config.patroni_yml(
        scope=f"{p}-pg", namespace="/novaops/", member=m, etcd_hosts=[f"{e}:2379" for e in etcd],
        postgres_port=5432, api_port=8008, superuser_password=secret["su"], replication_password=secret["rep"],
        rewind_password=secret["rw"], shared_preload_libraries=["age", "timescaledb"]), True)
    put(m, "bootstrap.sql", patroni_config.bootstrap_sql(database="nova", extensions=["vector", "age", "timescaledb"]))

vk = [f"{p}-vk-{i}" for i in (1, 2, 3)]
for m in vk:
    put(m, "valkey.conf", valkey_config.valkey_conf(member=m, port=6379, password=secret["vk"],
                                         primary=None if m == vk[0] else vk[0]), True)
    put(m, "sentinel.conf", valkey_config.sentinel_conf(member=m, master_name=f"{p}-cache", primary=vk[0], valkey_port=6379,
                                             sentinel_port=26379, quorum=2, password=secret["vk"]), True)
    put(m, "valkey-password", secret["vk"], True)

nats = [f"{p}-nats-{i}" for i in (1, 2, 3)]
for m in nats:
    put(m, "nats.conf", nats_config.nats_conf(member=m, members=nats, cluster_name=f"{p}-events", client_port=4222, system_password=secret["nats"],
                                     cluster_port=6222, monitor_port=8222, user="nova", password=secret["nats"]), True)

put(f"{p}-exporter", "valkey-passwords.json",
    valkey_config.valkey_exporter_passwords(targets={f"redis://{m}:6379": secret["vk"] for m in vk}), True)
put(f"{p}-prometheus", "prometheus.yml", json.dumps({
    "global": {"scrape_interval": "5s"},
    "alerting": {"alertmanagers": [{"static_configs": [{"targets": [f"{p}-alertmanager:9093"]}]}]},
    "scrape_configs": [
        {"job_name": "prometheus", "static_configs": [{"targets": ["127.0.0.1:9090"]}]},
        {"job_name": "nats", "static_configs": [{"targets": [f"{m}:7777" for m in nats]}]},
    ],
}, indent=1))
put(f"{p}-alertmanager", "alertmanager.yml", json.dumps({"route": {"receiver": "null"}, "receivers": [{"name": "null"}]}))
with open(os.path.join(work, "secrets.json"), "w") as f:
    json.dump(secret, f)
PYEOF
ok "rendered $(find "$WORK/files" -type f | wc -l) files"
secret() { "$PY" -c 'import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])' "$WORK/secrets.json" "$1"; }

# run NAME IMAGE [docker-create options...] -- CMD...: create, copy /etc/novaops files in, start.
run() {
    local name=$1 image=$2 opts=() f
    shift 2
    while [ "$#" -gt 0 ] && [ "$1" != -- ]; do opts+=("$1"); shift; done
    shift
    "$D" create --name "$name" --hostname "$name" --network "$NET" "${opts[@]}" "novaops/$image:$TAG" "$@" >/dev/null
    CREATED+=("$name")
    if [ -d "$WORK/files/$name" ]; then
        for f in "$WORK/files/$name"/*; do "$D" cp "$f" "$name:/etc/novaops/$(basename "$f")"; done
    fi
    "$D" start "$name" >/dev/null
}
dx() { "$D" exec "$@"; }
logs_on_fail() { [ "$FAILED" -eq 0 ] || for c in "$@"; do echo "--- logs $c"; "$D" logs --tail 40 "$c" 2>&1; done; }

# ------------------------------------------------------------------ base
log "base: novaops-run"
err=$("$D" run --rm --name "$PREFIX-base" "novaops/base:$TAG" novaops-run nosuchuser true 2>&1) \
    && fail "novaops-run accepted a missing user" || { echo "$err"; ok "novaops-run: missing user -> non-zero"; }
err=$("$D" run --rm --name "$PREFIX-base" "novaops/base:$TAG" novaops-run nobody nosuchcmd 2>&1) \
    && fail "novaops-run accepted a missing command" || { echo "$err"; ok "novaops-run: missing command -> non-zero"; }
out=$("$D" run --rm --name "$PREFIX-base" -e NOVAOPS_OWNED_PATHS="/srv/a /srv/b" "novaops/base:$TAG" sh -c \
    'echo pw > /etc/novaops/secret && chmod 0644 /etc/novaops/secret && novaops-run nobody sh -c "id -un; stat -c \"%U %a\" /etc/novaops/secret /srv/a /srv/b"' 2>&1) || true
echo "$out" | tr '\n' ' '; echo
[ "$out" = "$(printf 'nobody\nnobody 600\nnobody 755\nnobody 755')" ] && ok "novaops-run: drops to user, owns /etc/novaops (go-rwx) and owned paths" || fail "novaops-run ownership"

# ------------------------------------------------------------------ etcd
if want etcd || want postgres; then
    log "etcd: 3 members"
    for i in 1 2 3; do run "$PREFIX-etcd-$i" etcd -- novaops-run etcd etcd --config-file /etc/novaops/etcd.yml; done
    etcd_three() { [ "$(dx "$PREFIX-etcd-1" etcdctl --endpoints=http://127.0.0.1:2379 member list | grep -c started)" = 3 ]; }
    wait_for "etcd member list shows 3 started members" 60 2 etcd_three
    dx "$PREFIX-etcd-1" etcdctl --endpoints=http://127.0.0.1:2379 member list -w table || true
    for i in 1 2 3; do
        dx "$PREFIX-etcd-$i" etcdctl --endpoints=http://127.0.0.1:2379 endpoint health && ok "etcd-$i healthcheck" || fail "etcd-$i healthcheck"
    done
    dx "$PREFIX-etcd-1" stat -c '%U %a %n' /var/lib/etcd /etc/novaops /etc/novaops/etcd.yml
    logs_on_fail "$PREFIX-etcd-1"
fi

# ------------------------------------------------------------------ postgres / patroni
if want postgres; then
    log "postgres: 3 Patroni members on etcd3"
    for i in 1 2 3; do run "$PREFIX-pg-$i" postgres -- novaops-run postgres patroni /etc/novaops/patroni.yml; done
    pg_cluster() {
        dx "$PREFIX-pg-1" curl -fsS http://127.0.0.1:8008/cluster | "$PY" -c '
import json, sys
m = json.load(sys.stdin)["members"]
leaders = [x for x in m if x["role"] == "leader" and x["state"] == "running"]
replicas = [x for x in m if x["role"] in ("replica", "sync_standby") and x["state"] == "streaming"]
sys.exit(0 if len(leaders) == 1 and len(replicas) == 2 else 1)'
    }
    wait_for "patroni /cluster: 1 leader + 2 streaming replicas" 90 2 pg_cluster
    dx "$PREFIX-pg-1" patronictl -c /etc/novaops/patroni.yml list || true
    leader=$(dx "$PREFIX-pg-1" curl -fsS http://127.0.0.1:8008/cluster | "$PY" -c 'import json,sys; print([m["name"] for m in json.load(sys.stdin)["members"] if m["role"]=="leader"][0])' || echo "$PREFIX-pg-1")
    exts=$(dx -u postgres "$leader" psql -d nova -Atc "select string_agg(extname || ' ' || extversion, ', ' order by extname) from pg_extension" || true)
    echo "extensions in nova on $leader: $exts"
    for e in vector age timescaledb; do
        case "$exts" in *"$e "*) ok "extension $e present" ;; *) fail "extension $e missing" ;; esac
    done
    dx -u postgres "$leader" psql -d nova -Atc "show shared_preload_libraries; show data_checksums; show server_encoding" | tr '\n' ' '; echo
    dx -u postgres "$leader" psql -d nova -Atc "LOAD 'age'; SET search_path = ag_catalog, public; SELECT create_graph('smoke'); SELECT * FROM cypher('smoke', \$\$ CREATE (n:Probe {ok: true}) RETURN n.ok \$\$) AS (ok agtype);" \
        && ok "age cypher query" || fail "age cypher query"
    dx -u postgres "$leader" psql -d nova -Atc "CREATE TABLE t(ts timestamptz not null, v vector(3)); SELECT create_hypertable('t', 'ts'); INSERT INTO t VALUES (now(), '[1,2,3]'); SELECT v <-> '[1,2,4]' FROM t;" \
        && ok "timescaledb hypertable + pgvector distance" || fail "timescaledb/pgvector query"
    # replica sees it too (streaming); bounded
    repl=$(dx "$PREFIX-pg-1" curl -fsS http://127.0.0.1:8008/cluster | "$PY" -c 'import json,sys; print([m["name"] for m in json.load(sys.stdin)["members"] if m["role"]!="leader"][0])')
    wait_for "replica $repl has the hypertable row" 15 1 dx -u postgres "$repl" psql -d nova -Atc "select count(*) from t"
    for i in 1 2 3; do
        dx "$PREFIX-pg-$i" pg_isready -h 127.0.0.1 -p 5432 >/dev/null && ok "pg-$i healthcheck pg_isready" || fail "pg-$i pg_isready"
    done
    dx "$PREFIX-pg-1" stat -c '%U %a %n' /var/lib/postgresql/data /etc/novaops/patroni.yml /etc/novaops/bootstrap.sql /var/lib/postgresql/.pgpass_patroni
    logs_on_fail "$PREFIX-pg-1" "$PREFIX-pg-2"
fi

# ------------------------------------------------------------------ valkey + sentinel
if want valkey; then
    log "valkey: 3 x (valkey-server + sentinel)"
    VK=$(secret vk)
    for i in 1 2 3; do
        run "$PREFIX-vk-$i" valkey -- novaops-run valkey valkey-with-sentinel /etc/novaops/valkey.conf /etc/novaops/sentinel.conf
    done
    vcli() { local c=$1; shift; dx -e REDISCLI_AUTH="$VK" "$c" valkey-cli -p 6379 "$@"; }
    scli() { local c=$1; shift; dx "$c" valkey-cli -p 26379 "$@"; }
    two_replicas() { vcli "$PREFIX-vk-1" info replication | grep -q '^connected_slaves:2'; }
    wait_for "valkey-1 primary has 2 connected replicas" 60 2 two_replicas
    vcli "$PREFIX-vk-1" info replication | grep -E '^(role|connected_slaves|slave[0-9])' | tr -d '\r'
    sentinels_see() { local i; for i in 1 2 3; do scli "$PREFIX-vk-$i" sentinel master "$PREFIX-cache" | tr -d '\r' | grep -A1 '^num-other-sentinels$' | tail -1 | grep -qx 2 || return 1; done; }
    wait_for "all 3 sentinels: num-other-sentinels 2" 60 2 sentinels_see
    scli "$PREFIX-vk-2" sentinel get-master-addr-by-name "$PREFIX-cache" | tr '\n' ' '; echo
    for i in 1 2 3; do
        dx "$PREFIX-vk-$i" sh -c 'REDISCLI_AUTH="$(cat /etc/novaops/valkey-password)" valkey-cli -p 6379 ping | grep -q PONG' \
            && ok "vk-$i healthcheck" || fail "vk-$i healthcheck"
    done
    vcli "$PREFIX-vk-1" set smoke-key hello >/dev/null
    wait_for "replica vk-3 has the key" 10 1 sh -c "[ \"\$($D exec -e REDISCLI_AUTH=$VK $PREFIX-vk-3 valkey-cli -p 6379 get smoke-key)\" = hello ]"
    log "valkey: failover (stop the primary)"
    "$D" stop -t 2 "$PREFIX-vk-1" >/dev/null
    new_master() { scli "$PREFIX-vk-2" sentinel get-master-addr-by-name "$PREFIX-cache" | head -1 | grep -qv "$PREFIX-vk-1"; }
    wait_for "sentinels promoted a new primary" 30 2 new_master
    scli "$PREFIX-vk-2" sentinel get-master-addr-by-name "$PREFIX-cache" | tr '\n' ' '; echo
    "$D" start "$PREFIX-vk-1" >/dev/null
    rejoined() { vcli "$PREFIX-vk-1" info replication | tr -d '\r' | grep -qE '^(role:slave|master_link_status:up)$'; }
    wait_for "old primary vk-1 rejoins as replica (rewritten config kept)" 30 2 rejoined
    dx "$PREFIX-vk-1" stat -c '%U %a %n' /data /data/valkey.conf /data/valkey.conf.src /etc/novaops/valkey-password
    logs_on_fail "$PREFIX-vk-1" "$PREFIX-vk-2"
fi

# ------------------------------------------------------------------ nats
if want nats; then
    log "nats: 3-node JetStream cluster + exporter"
    for i in 1 2 3; do run "$PREFIX-nats-$i" nats -- novaops-run nats nats-with-exporter /etc/novaops/nats.conf; done
    # nats-server 2.10 pools routes (3 + 1 system-account connection per peer), so
    # /routez num_routes is 8 here; what must hold is 2 distinct remote servers per node.
    peers() { dx "$PREFIX-nats-$1" curl -fsS http://127.0.0.1:8222/routez | "$PY" -c '
import json, sys
r = json.load(sys.stdin)
print(len({x["remote_name"] for x in r.get("routes") or []}), r["num_routes"])'; }
    routes_ok() { local i; for i in 1 2 3; do [ "$(peers "$i" | cut -d' ' -f1)" = 2 ] || return 1; done; }
    wait_for "every node: /routez routes to 2 distinct peers" 60 2 routes_ok
    for i in 1 2 3; do echo "nats-$i routez: peers num_routes = $(peers "$i")"; done
    meta_leader() { dx "$PREFIX-nats-1" curl -fsS http://127.0.0.1:8222/jsz | "$PY" -c 'import json,sys; sys.exit(0 if json.load(sys.stdin).get("meta_cluster",{}).get("leader") else 1)'; }
    wait_for "/jsz shows a meta leader" 60 2 meta_leader
    dx "$PREFIX-nats-1" curl -fsS http://127.0.0.1:8222/jsz | "$PY" -c 'import json,sys; print("meta_cluster:", json.dumps(json.load(sys.stdin)["meta_cluster"]))'
    for i in 1 2 3; do
        dx "$PREFIX-nats-$i" curl -fsS http://127.0.0.1:8222/healthz >/dev/null && ok "nats-$i healthcheck" || fail "nats-$i healthcheck"
    done
    dx "$PREFIX-nats-1" curl -fsS http://127.0.0.1:8222/varz | grep -q '"auth_required": true' && ok "client auth required" || fail "client auth not required"
    metrics=$(dx "$PREFIX-nats-2" curl -fsS http://127.0.0.1:7777/metrics || true)
    echo "$metrics" | grep -E '^nats_(up|routez_num_routes|routez_peers|jetstream_enabled|jetstream_meta_leader|jetstream_meta_cluster_size|varz_connections)\{'
    echo "$metrics" | grep -q '^nats_up{server_name="'"$PREFIX"'-nats-2"} 1$' && ok "exporter /metrics nats_up 1" || fail "exporter /metrics"
    logs_on_fail "$PREFIX-nats-1"
fi

# ------------------------------------------------------------------ monitoring
if want monitoring; then
    log "prometheus, alertmanager, redis exporter"
    run "$PREFIX-alertmanager" alertmanager -- novaops-run prometheus prometheus-alertmanager \
        --config.file=/etc/novaops/alertmanager.yml --storage.path=/alertmanager --cluster.listen-address=
    run "$PREFIX-prometheus" prometheus -- novaops-run prometheus prometheus \
        --config.file=/etc/novaops/prometheus.yml --storage.tsdb.path=/prometheus
    run "$PREFIX-exporter" exporters -- novaops-run prometheus /usr/bin/prometheus-redis-exporter \
        --redis.password-file=/etc/novaops/valkey-passwords.json --web.listen-address=:9121
    wait_for "prometheus /-/ready" 30 2 dx "$PREFIX-prometheus" curl -fsS http://127.0.0.1:9090/-/ready
    wait_for "alertmanager /-/ready" 30 2 dx "$PREFIX-alertmanager" curl -fsS http://127.0.0.1:9093/-/ready
    wait_for "redis exporter /metrics" 30 2 dx "$PREFIX-exporter" curl -fsS http://127.0.0.1:9121/metrics
    if want valkey; then
        scrape=$(dx "$PREFIX-exporter" curl -fsS "http://127.0.0.1:9121/scrape?target=redis://$PREFIX-vk-2:6379" || true)
        echo "$scrape" | grep -E '^redis_(up|connected_slaves|instance_info)' | head -3
        echo "$scrape" | grep -q '^redis_up 1' && ok "redis exporter multi-target scrape with password file" || fail "redis exporter scrape"
    fi
    if want nats; then
        nats_up() { dx "$PREFIX-prometheus" curl -fsS 'http://127.0.0.1:9090/api/v1/query?query=sum(nats_up)' | grep -q '"3"\]'; }
        wait_for "prometheus scraped nats_up from 3 exporters" 20 3 nats_up
    fi
    dx "$PREFIX-prometheus" promtool check config /etc/novaops/prometheus.yml >/dev/null && ok "promtool check config" || fail "promtool"
    dx "$PREFIX-alertmanager" amtool check-config /etc/novaops/alertmanager.yml >/dev/null && ok "amtool check-config" || fail "amtool"
    logs_on_fail "$PREFIX-prometheus" "$PREFIX-alertmanager" "$PREFIX-exporter"
fi

# ------------------------------------------------------------------ host / backup
host_check() {
    local name=$1 image=$2 port
    ssh-keygen -q -t ed25519 -N '' -f "$WORK/id-$name" -C smoke >/dev/null
    mkdir -p "$WORK/files/$name"
    cp "$WORK/id-$name.pub" "$WORK/files/$name/authorized_keys"
    [ "$image" != backup ] || cp "$WORK/id-$name.pub" "$WORK/files/$name/authorized_keys.pgbackrest"
    run "$name" "$image" -p 127.0.0.1::22 -- novaops-host
    port=$("$D" port "$name" 22/tcp | head -1 | sed 's/.*://')
    host_health() { dx "$name" sh -c 'pgrep -x sshd && curl -fsS http://127.0.0.1:9100/metrics >/dev/null'; }
    wait_for "$name healthcheck (sshd + node exporter :9100)" 30 1 host_health
    sshx() { ssh -i "$WORK/id-$name" -p "$port" -o BatchMode=yes -o StrictHostKeyChecking=no \
        -o UserKnownHostsFile=/dev/null -o ConnectTimeout=5 -o LogLevel=ERROR "$@"; }
    wait_for "$name: ssh novaops@127.0.0.1:$port with key" 10 1 sshx novaops@127.0.0.1 true
    sshx novaops@127.0.0.1 'echo "as $(id -un): sudo -> $(sudo -n id -un), $(python3 --version), shell $SHELL"' \
        && ok "$name: ssh + NOPASSWD sudo + python3" || fail "$name: ssh session"
    sshx root@127.0.0.1 true 2>/dev/null && fail "$name: root login allowed" || ok "$name: root login refused"
    ssh -p "$port" -o BatchMode=yes -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o PubkeyAuthentication=no \
        -o ConnectTimeout=5 -o LogLevel=ERROR novaops@127.0.0.1 true 2>/dev/null && fail "$name: password/kbd login" || ok "$name: no password login"
    dx "$name" sh -c 'stat -c "%U %a %n" /home/novaops/.ssh /home/novaops/.ssh/authorized_keys; ls /etc/ssh/ssh_host_*_key | wc -l; ps -o user=,args= -C prometheus-node-exporter'
    dx "$name" sshd -T | grep -E '^(passwordauthentication|kbdinteractiveauthentication|permitrootlogin) ' | tr '\n' ' '; echo
    [ "$(dx "$name" sshd -T | grep -cE '^(passwordauthentication no|kbdinteractiveauthentication no|permitrootlogin no)$')" = 3 ] \
        && ok "$name: sshd -T effective settings" || fail "$name: sshd -T settings"
    logs_on_fail "$name"
}
if want host; then
    log "host: sshd + sudo + node exporter"
    host_check "$PREFIX-host" host
    "$D" run --rm "novaops/host:$TAG" sh -c 'ls /etc/ssh/ssh_host_* 2>/dev/null | wc -l' | grep -qx 0 && ok "no SSH host keys baked into the image" || fail "host keys in image"
fi
if want backup; then
    log "backup: host + pgbackrest + restic"
    host_check "$PREFIX-backup" backup
    dx "$PREFIX-backup" sh -c 'pgbackrest version; restic version; stat -c "%U %a %n" /var/lib/pgbackrest /var/lib/restic /etc/pgbackrest.conf' \
        && ok "backup tools present" || fail "backup tools"
    bport=$("$D" port "$PREFIX-backup" 22/tcp | head -1 | sed 's/.*://')
    ssh -i "$WORK/id-$PREFIX-backup" -p "$bport" -o BatchMode=yes -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null \
        -o ConnectTimeout=5 -o LogLevel=ERROR pgbackrest@127.0.0.1 'id -un; pgbackrest version; touch /var/lib/pgbackrest/.w && rm /var/lib/pgbackrest/.w && echo repo writable' \
        && ok "backup: ssh as pgbackrest (authorized_keys.pgbackrest), repo writable" || fail "backup: ssh as pgbackrest"
    if want nats; then   # the project's NATS client (novaops_nats.py) in the image, against the real cluster
        dx "$PREFIX-backup" sh -c "umask 077; printf %s '$(secret nats)' > /tmp/nats-pw"
        snap() { dx "$PREFIX-backup" nats-js-snapshot --server "$PREFIX-nats-1:4222" --user nova --password-file /tmp/nats-pw "$@"; }
        create() { snap request '$JS.API.STREAM.CREATE.SMOKE' '{"name":"SMOKE","subjects":["smoke.>"],"num_replicas":3}' \
            >/dev/null; snap list | grep -qx SMOKE; }
        wait_for "nats-js-snapshot: an R3 stream created through the JetStream API" 60 3 create
        snap publish smoke.one hello >/dev/null && snap snapshot SMOKE /tmp/smoke.snap \
            && [ "$(snap dump SMOKE | cut -f2-)" = "$(printf 'smoke.one\thello')" ] \
            && ok "nats-js-snapshot: publish, snapshot, dump (backup image)" || fail "nats-js-snapshot in the backup image"
    fi
fi

log "result"
if [ "$FAILED" -eq 0 ]; then echo "smoke: all checks passed"; else echo "smoke: $FAILED check(s) FAILED"; exit 1; fi
