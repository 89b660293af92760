for i in 1 2 3; do
  node --test --test-reporter=dot build/test/jobs/restart.kernel.test.js 2>&1 | tail -5
  node --test --test-reporter=tap --test-name-pattern="setsid|left behind|OOM" build/test/jobs/supervisor.kernel.test.js 2>&1 | grep -E "^# (pass|fail)|not ok|survived|error:" 
done
