#!/bin/bash
# docker.sh against a real neutron-server (ML2/OVN): Docker networks and
# endpoints as Neutron networks and ports.
NEUTRON=true BACKEND=neutron
. "$(dirname "$0")/docker.sh"
