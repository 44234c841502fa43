#!/bin/sh
# faultline agent: triage one incident with the Codex CLI (codex exec), non-interactively.
#
#   agent: { command: ["./agents/codex.sh"] }                      # extra arguments go to
#   agent: { command: ["./agents/codex.sh", "--model", "gpt-5"] }  # codex exec, e.g. the model
#
# faultline runs it with cwd = the incident workspace, stdin = the event JSON, KUBECONFIG = that
# cluster's kubeconfig. It writes, in the workspace:
#   prompt.md     the prompt it gave codex (triage-prompt.md + the fault + the event JSON)
#   report.md     the answer's markdown report
#   summary.json  the answer's summary fields, checked against faultline's summary shape;
#                 not written when they do not fit (or jq is missing)
# and exits with codex's exit code.
#
# Needs: codex (Codex CLI, logged in or CODEX_API_KEY), kubectl, jq (for the fault's fields in the
# prompt, for splitting the answer into report.md and summary.json; without jq report.md is the
# raw answer and no summary.json is written).
# Environment: FAULTLINE_PROMPT_FILE (prompt template), FAULTLINE_CODEX_BIN (default: codex),
# FAULTLINE_CODEX_SANDBOX (default: workspace-write, see below), FAULTLINE_EVENT_MAX_BYTES.
#
# Flags (codex exec: https://github.com/openai/codex/blob/main/docs/exec.md, the options in
# codex-rs/exec/src/cli.rs, and https://developers.openai.com/codex/noninteractive):
#   exec                      non-interactive mode; never asks for approvals
#   -                         the prompt is read from stdin
#   --skip-git-repo-check     the workspace is not a Git repository
#   --ephemeral               no session files persisted
#   --color never             plain progress on stderr (which faultline keeps in agent.log)
#   --output-schema FILE      the final answer is JSON matching codex-output.schema.json (strict
#                             structured-output rules: every property required, no others)
#   -o / --output-last-message FILE   the final answer is written to FILE
#   --sandbox MODE            workspace-write by default, with
#   -c sandbox_workspace_write.network_access=true   so that kubectl can reach the API server:
#                             codex's read-only sandbox also cuts the network, so kubectl could not
#                             connect. Commands can then write only in the incident workspace and
#                             temp dirs. Codex has no per-command allow-list for exec, so read-only
#                             cluster access rests on the prompt and, for real, on the kubeconfig's
#                             RBAC (give faultline a read-only kubeconfig).
#                             FAULTLINE_CODEX_SANDBOX=read-only: no writes and no network at all.
set -eu

triage_name=codex.sh
triage_dir=$(CDPATH='' cd -- "$(dirname -- "$0")" && pwd)
. "$triage_dir/triage-lib.sh"

codex_bin=${FAULTLINE_CODEX_BIN:-codex}
sandbox=${FAULTLINE_CODEX_SANDBOX:-workspace-write}
schema="$triage_dir/codex-output.schema.json"

triage_start
rm -f answer.json
triage_read_event event.in.json
triage_build_prompt event.in.json prompt.md
rm -f event.in.json
# The template asks for a final ```json block; with --output-schema the whole answer is JSON.
printf '\n%s\n' 'Answer format for this run: your final answer is one JSON object matching the output schema. Put the markdown report in "report" (without the json block) and the summary fields alongside it.' >>prompt.md

set -- --sandbox "$sandbox" "$@"
if [ "$sandbox" = workspace-write ]; then
  set -- -c sandbox_workspace_write.network_access=true "$@"
fi

status=0
"$codex_bin" exec \
  --skip-git-repo-check \
  --ephemeral \
  --color never \
  --output-schema "$schema" \
  -o answer.json \
  "$@" - <prompt.md || status=$?

if [ -s answer.json ]; then
  if triage_have_jq && jq -e 'type == "object" and (.report | type) == "string"' answer.json >/dev/null 2>&1; then
    jq -j '.report' answer.json >report.md
    if [ "$status" -eq 0 ]; then
      jq 'del(.report)' answer.json >summary.candidate.json
      triage_write_summary summary.candidate.json
      rm -f summary.candidate.json
    fi
  else
    # Not the schema's JSON (an older codex, or no jq): the answer is the report as it is.
    cp answer.json report.md
    if [ "$status" -eq 0 ]; then triage_summary_from_markdown report.md; fi
  fi
fi
rm -f answer.json

if [ "$status" -ne 0 ]; then
  triage_log "codex exited with status $status: summary.json not written"
  exit "$status"
fi
if [ ! -e report.md ]; then
  triage_log "codex wrote no answer"
  : >report.md
fi
exit 0
