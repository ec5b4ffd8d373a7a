# Scenario 1, second boot of the same disk: the record of the decision survived the reset.
fence_last --json >"/host/results/$STEP.fence.json" 2>"/run/fence.err" || result fence_last_error "$(cat /run/fence.err)"
fence_last >"/host/results/$STEP.fence.txt" 2>&1
result record_boot_id "$(json 'v.record.bootId' <"/host/results/$STEP.fence.json")"
