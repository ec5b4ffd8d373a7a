# Scenario 2, second boot: the records of the decision and of the fallback.
fence_last --json >"/host/results/$STEP.fence.json" 2>/run/fence.err
grep -c '"kind":"fallback"' /var/lib/hb/fence.jsonl >/dev/null && result fallback_record "$(grep '"kind":"fallback"' /var/lib/hb/fence.jsonl | tail -1 | json 'v.why ?? JSON.stringify(v).slice(0, 200)')"
