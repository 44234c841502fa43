#!/bin/sh
# A sample triage agent. faultline runs it with:
#   cwd            the incident workspace (event.json is there)
#   stdin          the normalised fault event as JSON
#   KUBECONFIG     the kubeconfig of the cluster the fault came from
#   FAULTLINE_CLUSTER, FAULTLINE_INCIDENT_ID, FAULTLINE_WORKSPACE
# Replace it with Claude Code, Codex or your own script, e.g.
#   agent: { command: ["claude", "-p", "Triage the Kubernetes fault in event.json using kubectl"] }
set -eu
event=$(cat)
echo "triaging incident $FAULTLINE_INCIDENT_ID on cluster $FAULTLINE_CLUSTER"
echo "kubeconfig: $KUBECONFIG"
echo "event: $event"
if command -v kubectl >/dev/null 2>&1; then
  kubectl config current-context || true
fi
echo "triage of $FAULTLINE_INCIDENT_ID done" > triage-report.txt
