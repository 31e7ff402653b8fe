#!/usr/bin/env bash
# A single-node Apache Kafka (KRaft, combined broker+controller) on 127.0.0.1:9092, assembled from
# Apache Kafka's own jars on Maven Central and run with the machine's JDK.
#   scripts/kafka.sh up|down|status      (stop/start: stop and restart keeping the data)
#   KAFKA_VERSION (default 4.3.1), KAFKA_PORT (default 9092)
#   KAFKA_PROXIED_PORT=Q adds a plain listener on KAFKA_PORT+4 that advertises 127.0.0.1:Q, for a
#     test's fault-injecting proxy on Q: clients that bootstrap there keep talking through it.
#   KAFKA_SECURED=1 adds two listeners for trying authentication and TLS:
#     SASL_PLAINTEXT on KAFKA_PORT+2 (PLAIN, SCRAM-SHA-256, SCRAM-SHA-512; user from KAFKA_SASL_USER /
#     KAFKA_SASL_PASSWORD, default plumline / plumline-secret) and SSL on KAFKA_PORT+3 with a
#     self-signed certificate for 127.0.0.1 written to .kafka/run-PORT/ca.pem.
#   KAFKA_ACLS=1 (with KAFKA_SECURED=1) turns authorization on (StandardAuthorizer, nothing allowed
#     without an ACL): the PLAINTEXT listener's client (User:ANONYMOUS) is a super user, to grant
#     ACLs with; the SASL user has only what is granted to it.
# Jars come through Maven's local repository (~/.m2), so a second `up` takes seconds.
set -euo pipefail
cd "$(dirname "$0")/.."
VERSION="${KAFKA_VERSION:-4.3.1}"
PORT="${KAFKA_PORT:-9092}"
CPORT=$((PORT + 1))
HOME_DIR="${KAFKA_HOME_DIR:-$PWD/.kafka}"
LIB="$HOME_DIR/$VERSION/lib"
RUN="$HOME_DIR/run-$PORT"
PIDFILE="$RUN/kafka.pid"

running() { [ -f "$PIDFILE" ] && kill -0 "$(cat "$PIDFILE")" 2>/dev/null; }
listening() { (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null; }

case "${1:-}" in
  up)
    if running; then echo "kafka $(cat "$RUN/version") already running on 127.0.0.1:$PORT (pid $(cat "$PIDFILE"))"; exit 0; fi
    command -v java >/dev/null || { echo "kafka.sh: java not found (install a JDK 17+)" >&2; exit 1; }
    if [ ! -f "$LIB/.complete" ]; then
      command -v mvn >/dev/null || { echo "kafka.sh: mvn not found (install Maven)" >&2; exit 1; }
      echo "kafka.sh: resolving org.apache.kafka:kafka_2.13:$VERSION from Maven Central…"
      mkdir -p "$LIB"
      mvn -q -B -f scripts/kafka/pom.xml -Dkafka.version="$VERSION" \
        org.apache.maven.plugins:maven-dependency-plugin:3.7.1:copy-dependencies \
        -DoutputDirectory="$LIB" -DincludeScope=runtime >&2
      touch "$LIB/.complete"
    fi
    rm -rf "$RUN"; mkdir -p "$RUN/data"
    LISTENERS="PLAINTEXT://127.0.0.1:$PORT,CONTROLLER://127.0.0.1:$CPORT"
    ADVERTISED="PLAINTEXT://127.0.0.1:$PORT"
    PROTOCOLS="CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT"
    SECURED_PROPS=""; SCRAM_ARGS=()
    if [ -n "${KAFKA_PROXIED_PORT:-}" ]; then
      LISTENERS="$LISTENERS,PROXIED://127.0.0.1:$((PORT + 4))"
      ADVERTISED="$ADVERTISED,PROXIED://127.0.0.1:$KAFKA_PROXIED_PORT"
      PROTOCOLS="$PROTOCOLS,PROXIED:PLAINTEXT"
    fi
    if [ "${KAFKA_SECURED:-0}" = 1 ]; then
      SPORT=$((PORT + 2)); TPORT=$((PORT + 3))
      SUSER="${KAFKA_SASL_USER:-plumline}"; SPASS="${KAFKA_SASL_PASSWORD:-plumline-secret}"
      openssl req -x509 -newkey rsa:2048 -nodes -days 30 -subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1 \
        -keyout "$RUN/key.pem" -out "$RUN/ca.pem" 2>/dev/null
      cat "$RUN/key.pem" "$RUN/ca.pem" > "$RUN/broker.pem"
      LISTENERS="$LISTENERS,SASL_PLAINTEXT://127.0.0.1:$SPORT,SSL://127.0.0.1:$TPORT"
      ADVERTISED="$ADVERTISED,SASL_PLAINTEXT://127.0.0.1:$SPORT,SSL://127.0.0.1:$TPORT"
      PROTOCOLS="$PROTOCOLS,SASL_PLAINTEXT:SASL_PLAINTEXT,SSL:SSL"
      SECURED_PROPS="sasl.enabled.mechanisms=PLAIN,SCRAM-SHA-256,SCRAM-SHA-512
listener.name.sasl_plaintext.plain.sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required user_$SUSER=\"$SPASS\";
listener.name.sasl_plaintext.scram-sha-256.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required;
listener.name.sasl_plaintext.scram-sha-512.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required;
ssl.keystore.type=PEM
ssl.keystore.location=$RUN/broker.pem"
      if [ "${KAFKA_ACLS:-0}" = 1 ]; then
        SECURED_PROPS="$SECURED_PROPS
authorizer.class.name=org.apache.kafka.metadata.authorizer.StandardAuthorizer
super.users=User:ANONYMOUS
allow.everyone.if.no.acl.found=false"
      fi
      SCRAM_ARGS=(--add-scram "SCRAM-SHA-256=[name=$SUSER,password=$SPASS]" --add-scram "SCRAM-SHA-512=[name=$SUSER,password=$SPASS]")
    fi
    cat > "$RUN/server.properties" <<PROPS
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:$CPORT
listeners=$LISTENERS
advertised.listeners=$ADVERTISED
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=$PROTOCOLS
log.dirs=$RUN/data
num.partitions=1
offsets.topic.replication.factor=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
group.initial.rebalance.delay.ms=0
auto.create.topics.enable=false
$SECURED_PROPS
PROPS
    ID=$(java -cp "$LIB/*" kafka.tools.StorageTool random-uuid 2>/dev/null | tail -1)
    java -cp "$LIB/*" kafka.tools.StorageTool format -t "$ID" -c "$RUN/server.properties" --ignore-formatted "${SCRAM_ARGS[@]}" >"$RUN/format.log" 2>&1 \
      || { cat "$RUN/format.log" >&2; exit 1; }
    echo "$VERSION" > "$RUN/version"
    exec "$0" start
    ;;
  start)
    # Starts the broker formatted by `up` again, with its data (after `stop`).
    [ -f "$RUN/server.properties" ] || { echo "kafka.sh: nothing to start; run up first" >&2; exit 1; }
    if running; then echo "kafka already running"; exit 0; fi
    VERSION=$(cat "$RUN/version"); LIB="$HOME_DIR/$VERSION/lib"
    nohup java -Xms256m -Xmx768m -XX:+UseG1GC -Dorg.slf4j.simpleLogger.defaultLogLevel=warn \
      -cp "$LIB/*" kafka.Kafka "$RUN/server.properties" >>"$RUN/kafka.log" 2>&1 &
    echo $! > "$PIDFILE"
    for _ in $(seq 1 120); do
      if listening; then echo "kafka $VERSION up on 127.0.0.1:$PORT (pid $(cat "$PIDFILE"))"; exit 0; fi
      running || { echo "kafka.sh: broker exited; log:" >&2; tail -40 "$RUN/kafka.log" >&2; exit 1; }
      sleep 0.5
    done
    echo "kafka.sh: broker did not listen within 60 s; log:" >&2; tail -40 "$RUN/kafka.log" >&2; exit 1
    ;;
  pause|resume)
    # Freezes (SIGSTOP) or thaws (SIGCONT) the broker: it stops answering at once without closing
    # connections, as a hung broker does (tests of stalls and readiness).
    running || { echo "kafka not running" >&2; exit 1; }
    kill "-$([ "$1" = pause ] && echo STOP || echo CONT)" "$(cat "$PIDFILE")"
    echo "kafka ${1}d"
    ;;
  kill)
    # Kills the broker outright (SIGKILL), keeping its data, for `start` (tests of a crash).
    if running; then PID=$(cat "$PIDFILE"); kill -9 "$PID"; for _ in $(seq 1 20); do kill -0 "$PID" 2>/dev/null || break; sleep 0.2; done; fi
    echo "kafka killed (data kept)"
    ;;
  stop)
    # Stops the broker but keeps its data, for `start` (tests of a broker restart).
    if running; then PID=$(cat "$PIDFILE"); kill "$PID"; for _ in $(seq 1 60); do kill -0 "$PID" 2>/dev/null || break; sleep 0.5; done; kill -9 "$PID" 2>/dev/null || true; fi
    echo "kafka stopped (data kept)"
    ;;
  down)
    if running; then
      PID=$(cat "$PIDFILE"); kill "$PID"
      for _ in $(seq 1 60); do kill -0 "$PID" 2>/dev/null || break; sleep 0.5; done
      kill -9 "$PID" 2>/dev/null || true
      echo "kafka stopped"
    else
      echo "kafka not running"
    fi
    rm -rf "$RUN"
    ;;
  status)
    if running && listening; then echo "kafka $(cat "$RUN/version") running on 127.0.0.1:$PORT (pid $(cat "$PIDFILE"))"; else echo "kafka not running"; exit 1; fi
    ;;
  *) echo "usage: scripts/kafka.sh up|down|status|stop|start|kill|pause|resume   (KAFKA_VERSION, KAFKA_PORT)" >&2; exit 2 ;;
esac
