#!/bin/sh
# Sourced by claude-code.sh and codex.sh (which set triage_name and triage_dir first); not run on its own.
#
# Event data is never evaluated by a shell: it only flows through files and pipes (head, cat, jq,
# awk) and every expansion is quoted. Nothing here builds a command string or calls eval.
set -eu

# The prompt template: FAULTLINE_PROMPT_FILE, else triage-prompt.md next to the wrappers.
triage_prompt_file=${FAULTLINE_PROMPT_FILE:-"$triage_dir/triage-prompt.md"}

# At most this many bytes of the event go into the prompt (faultline's events are far smaller).
triage_max_bytes=${FAULTLINE_EVENT_MAX_BYTES:-65536}
case $triage_max_bytes in
  '' | *[!0-9]*) triage_max_bytes=65536 ;;
esac

triage_log() {
  printf '%s: %s\n' "$triage_name" "$*" >&2
}

triage_have_jq() {
  command -v jq >/dev/null 2>&1
}

# triage_start: checks the prompt file and clears what an earlier run in this workspace left.
triage_start() {
  if [ ! -r "$triage_prompt_file" ]; then
    triage_log "prompt file not readable: $triage_prompt_file"
    exit 2
  fi
  if [ -z "${KUBECONFIG:-}" ]; then
    triage_log "KUBECONFIG is not set: kubectl will use its default configuration"
  fi
  rm -f report.md summary.json
}

# triage_read_event OUT: the event (stdin, as faultline sends it; else ./event.json), bounded.
triage_read_event() {
  if [ ! -t 0 ]; then
    head -c "$triage_max_bytes" >"$1"
  else
    : >"$1"
  fi
  if [ ! -s "$1" ] && [ -f event.json ]; then
    head -c "$triage_max_bytes" event.json >"$1"
  fi
}

# The event's fields as markdown lines (jq 1.6+). Values are printed as data, never interpreted.
triage_fields_filter='
  def s: if . == null then "(not given)" elif type == "string" then . else tojson end;
  "- Cluster: \(.cluster | s)",
  "- Resource: \(.resource.kind | s) \(if (.resource.namespace | type) == "string"
      then .resource.namespace + "/" else "" end)\(.resource.name | s)",
  "- Fault type: \(.fault_type | s)",
  "- Severity: \(.severity | s)",
  "- Timestamp: \(.timestamp | s)",
  "- Cluster labels: \(.labels | s)",
  "- Context:",
  "",
  (.context | s)
'

# triage_build_prompt EVENT OUT: the template, the fault's fields (with jq), the event JSON verbatim.
triage_build_prompt() {
  {
    cat "$triage_prompt_file"
    printf '\n## The fault\n\n'
    printf '%s\n' "- Incident: ${FAULTLINE_INCIDENT_ID:-(not given)}"
    if triage_have_jq && jq -r "$triage_fields_filter" <"$1" >"$2.fields" 2>/dev/null; then
      cat "$2.fields"
    else
      printf '%s\n' "- Cluster: ${FAULTLINE_CLUSTER:-(not given)}"
      printf '\n(The other fields are in the event JSON below.)\n'
    fi
    rm -f "$2.fields"
    printf '\n## The event as JSON\n\n~~~~json\n'
    cat "$1"
    printf '\n~~~~\n'
  } >"$2"
}

# triage_json_block FILE: prints the last fenced ```json block of FILE; fails when there is none.
triage_json_block() {
  awk '
    /^[ \t]*```[ \t]*json[ \t]*$/ { buf = ""; inside = 1; next }
    inside && /^[ \t]*```[ \t]*$/ { last = buf; found = 1; inside = 0; next }
    inside { buf = buf $0 "\n" }
    END { if (!found) exit 1; printf "%s", last }
  ' "$1"
}

# faultline reads summary.json as
#   { "summary": string, "root_cause"?: string, "confidence"?: "low"|"medium"|"high", "actions"?: string[] }
# This keeps those keys (nulls and an empty root_cause dropped, confidence lower-cased) or fails.
triage_summary_filter='
  if type != "object" then error("not a JSON object") else . end
  | with_entries(select(.value != null))
  | if (.root_cause | type) == "string" and .root_cause == "" then del(.root_cause) else . end
  | if (.confidence | type) == "string" then .confidence |= ascii_downcase else . end
  | if (.summary | type) != "string" or .summary == ""
      then error("summary must be a non-empty string") else . end
  | if has("root_cause") and (.root_cause | type) != "string"
      then error("root_cause must be a string") else . end
  | if has("confidence") and (.confidence as $c | ["low", "medium", "high"] | any(.[]; . == $c) | not)
      then error("confidence must be low, medium or high") else . end
  | if has("actions") and ((.actions | type) != "array" or any(.actions[]; type != "string"))
      then error("actions must be an array of strings") else . end
  | { summary }
    + (if has("root_cause") then { root_cause } else {} end)
    + (if has("confidence") then { confidence } else {} end)
    + (if has("actions") then { actions } else {} end)
'

# triage_write_summary CANDIDATE: summary.json from a candidate JSON file, or none (and says why).
triage_write_summary() {
  if ! triage_have_jq; then
    triage_log "jq not found: summary.json not written"
    return 0
  fi
  if jq -e "$triage_summary_filter" <"$1" >summary.json.tmp 2>summary.json.err; then
    mv summary.json.tmp summary.json
  else
    triage_log "no valid summary in the answer: $(head -c 300 summary.json.err)"
    rm -f summary.json.tmp
  fi
  rm -f summary.json.err
}

# triage_summary_from_markdown FILE: summary.json from the last ```json block of FILE, if any.
triage_summary_from_markdown() {
  if triage_json_block "$1" >summary.candidate.json; then
    triage_write_summary summary.candidate.json
  else
    triage_log "no fenced json summary in the answer: summary.json not written"
  fi
  rm -f summary.candidate.json
}
