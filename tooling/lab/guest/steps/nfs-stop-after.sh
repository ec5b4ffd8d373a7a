# Scenario 1, second boot of the same disk: the record of the decision survived the reset.
hb fence last --json >"/host/results/$STEP.fence.json" 2>&1 || result fence_last_error "$(cat "/host/results/$STEP.fence.json")"
hb fence last >"/host/results/$STEP.fence.txt" 2>&1
result record_boot_id "$(json 'v.record?.bootId ?? v.bootId ?? v.last?.bootId' <"/host/results/$STEP.fence.json")"
