-- wrk script for scripts/bench.sh.
--
-- Arguments after "--": MODE AUTHORIZATION [PREFIX]
--   post  POST /worker/log/{id} with a valid, unique entry per request: each
--         wrk thread writes transactions PREFIX-THREAD-N of five entries
--         (WORKER_INIT to WORKER_END, status SUCCESS), one second apart, so no
--         two requests of a run share a key.
--   get   GET the path given on the wrk command line.
-- AUTHORIZATION is the whole Authorization header value ("Basic ...").
--
-- With BENCH_PACE_MS set in the environment, each connection waits that many
-- milliseconds after a response before its next request, so the load keeps a
-- steady rate below what the server can serve instead of saturating it.
--
-- Every response other than 200 counts as a failure. done() prints one line
-- "RESULT key=value ..." for the summariser, then one "STATUS CODE COUNT"
-- line per status other than 200, and the body of the first such response.

local STAGES = { "WORKER_INIT", "WORKER_DECOMPRESS", "WORKER_DEENCRYPT", "WORKER_LOAD", "WORKER_END" }

-- 2026-12-01T00:00:00Z; request N of a thread is stamped this plus N seconds.
local BASE_TIME = 1796083200

local threads = {}

local pace_ms = tonumber(os.getenv("BENCH_PACE_MS") or "")
if pace_ms ~= nil then
   -- wrk checks once, at start, whether the script defines delay(), and only
   -- then calls it before each request.
   function delay()
      return pace_ms
   end
end

function setup(thread)
   table.insert(threads, thread)
   thread:set("thread_number", #threads)
end

local mode, headers, prefix
local counter = 0
statuses = {}
first_failure = nil

function init(args)
   mode = args[1]
   headers = { ["Authorization"] = args[2] }
   prefix = args[3] or "bench"
   if mode == "post" then
      headers["Content-Type"] = "application/x-www-form-urlencoded"
   end
end

function request()
   if mode ~= "post" then
      return wrk.format("GET", nil, headers, nil)
   end
   local index = counter % 5
   local path = string.format("/worker/log/%s-%d-%d", prefix, thread_number, (counter - index) / 5)
   -- The form body of `curl --data-urlencode "timestamp=$(date -u -Iseconds)" -d ...`.
   local timestamp = os.date("!%Y-%m-%dT%H%%3A%M%%3A%S%%2B00%%3A00", BASE_TIME + counter)
   local body = "timestamp=" .. timestamp .. "&stage=" .. STAGES[index + 1]
      .. "&status=SUCCESS&message=step+" .. (index + 1) .. "+of+5+finished+in+" .. (counter % 997) .. "+ms"
   counter = counter + 1
   return wrk.format("POST", path, headers, body)
end

function response(status, response_headers, body)
   if status ~= 200 then
      statuses[status] = (statuses[status] or 0) + 1
      if first_failure == nil then
         first_failure = status .. " " .. (body or "")
      end
   end
end

function done(summary, latency, requests)
   local failures = {}
   local failed = 0
   local example = nil
   for _, thread in ipairs(threads) do
      local counts = thread:get("statuses") or {}
      for code, count in pairs(counts) do
         failures[code] = (failures[code] or 0) + count
         failed = failed + count
      end
      example = example or thread:get("first_failure")
   end
   local errors = summary.errors
   local socket_errors = errors.connect + errors.read + errors.write + errors.timeout
   local seconds = summary.duration / 1e6
   io.write(string.format(
      "RESULT requests=%d ok_rps=%.1f p50_ms=%.3f p99_ms=%.3f max_ms=%.3f non200=%d socket_errors=%d\n",
      summary.requests, (summary.requests - failed) / seconds,
      latency:percentile(50) / 1000, latency:percentile(99) / 1000, latency.max / 1000,
      failed, socket_errors))
   for code, count in pairs(failures) do
      io.write(string.format("STATUS %d %d\n", code, count))
   end
   if example ~= nil then
      io.write("FIRST_FAILURE " .. string.sub(example, 1, 300) .. "\n")
   end
end
