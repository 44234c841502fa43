#!/bin/sh
# A sample triage agent. faultline runs it with:
#   cwd            the incident workspace (event.json is there)
#   stdin          the normalised fault event as JSON
#   KUBECONFIG     the kubeconfig of the cluster the fault came from
#   FAULTLINE_CLUSTER, FAULTLINE_INCIDENT_ID, FAULTLINE_WORKSPACE
# Replace it with your own script, or with the ready-made Claude Code and Codex wrappers:
#   agent: { command: ["./agents/claude-code.sh"] }   or   ["./agents/codex.sh"]
set -eu
event=$(cat)
echo "triaging incident $FAULTLINE_INCIDENT_ID on cluster $FAULTLINE_CLUSTER"
echo "kubeconfig: $KUBECONFIG"
echo "event: $event"
if command -v kubectl >/dev/null 2>&1; then
  kubectl config current-context || true
fi
echo "triage of $FAULTLINE_INCIDENT_ID done" > triage-report.txt
