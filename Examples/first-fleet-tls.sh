#!/bin/sh
# A first real fleet: a TLS certificate for the coordinator, the coordinator, an enrolment token and two agents.
# Run from anywhere: Examples/first-fleet-tls.sh (PORT, WORK and HOST may be set; see common.sh).
set -eu
. "$(dirname "$0")/common.sh"
HOST=${HOST:-localhost}

# 1. A certificate for the name the agents use in --coordinator HOST:PORT. The agent checks that name against
#    the certificate's subjectAltName (when --coordinator is an IP address, pass the name with --tls-server-name).
#    Self-signed here: the agents pin it with --ca-file. With your own CA, give --ca-file the CA's certificate.
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 365 -subj "/CN=$HOST" \
    -addext "subjectAltName=DNS:$HOST" -keyout "$WORK/key.pem" -out "$WORK/cert.pem" 2>/dev/null

# 2. The coordinator, speaking TLS 1.3 (listen on 0.0.0.0:7420 to serve other machines).
background coordinator fleet-coordinator --data-dir "$WORK/coordinator" --listen "127.0.0.1:$PORT" \
    --tls-cert "$WORK/cert.pem" --tls-key "$WORK/key.pem"
wait_until "the coordinator listens" test -f "$WORK/coordinator/coordinator.json"

# 3. A token two devices may enrol with (its first line is the token itself).
fleetctl token create --data-dir "$WORK/coordinator" --uses 2 --expires 1h --label site=lab >"$WORK/token.txt"
TOKEN=$(head -n 1 "$WORK/token.txt")

# 4. Two agents (on real edge boxes: one each). Later starts need only --data-dir and --ca-file.
for name in cam-1 cam-2; do
    background "$name" fleet-agent --data-dir "$WORK/$name" --coordinator "$HOST:$PORT" \
        --ca-file "$WORK/cert.pem" --token "$TOKEN" --name "$name"
done
wait_until "both agents online over TLS" online 2

# 5. The fleet.
fleetctl devices --data-dir "$WORK/coordinator"
