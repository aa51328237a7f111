-- wrk script: POST a Python print(1) run (bench/e2e.sh, bench/warm.sh)
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
-- WRK_BODY: another request (bench/warm.sh: a run forced cold)
wrk.body = os.getenv("WRK_BODY") or '{"runtime": "python", "code": "print(1)"}'
local bad = 0
function response(status, headers, body)
  if status ~= 200 or not string.find(body, '"status":"success"', 1, true) then
    bad = bad + 1
    if bad <= 3 then io.stderr:write("bad answer: " .. status .. " " .. body:sub(1, 200) .. "\n") end
  end
end
function done(summary, latency, requests)
  io.write(string.format("E2E rps=%.1f p50_ms=%.2f p99_ms=%.2f non2xx_or_failed=%d errors=%d n=%d\n",
    summary.requests / (summary.duration / 1e6), latency:percentile(50) / 1000,
    latency:percentile(99) / 1000, bad, summary.errors.status + summary.errors.connect +
    summary.errors.read + summary.errors.write + summary.errors.timeout, summary.requests))
end
