-- wrk script for bench/run: builds one didgate XML envelope per request and
-- counts replies by ERROR_CODE. Configured by environment variables (wrk
-- passes its environment to every thread's Lua state):
--
--   BENCH_ACTION      action name, e.g. ANVEO.AREAS.LIST
--   BENCH_PARAMS      fixed parameters, as "NAME=VALUE;NAME=VALUE"
--   BENCH_VARY        optional "NAME=V1,V2,V3": one more parameter whose
--                     value rotates per request (e.g. CONTAINS patterns)
--   BENCH_KEYS        file with one API key per line (never printed)
--   BENCH_KEY_MODE    one (first key) | rotate (every key in turn)
--   BENCH_REQUEST_ID  a tag; when set, every request carries a unique
--                     REQUEST_ID "<tag>-<thread>-<n>"
--
-- done() prints one line "BENCH_RESULT {json}" that bench/drive.py reads:
-- requests, duration, latency percentiles (µs), socket errors and the count
-- of replies per code ("OK" for SUCCESS, else the ERROR_CODE, or HTTP_<n>).

local threads = {}
local thread_count = 0

-- BENCH_PACE_MS: each connection waits a random time (exponential, this
-- mean) after each reply before its next request, so the offered rate is
-- about connections / (pace + latency) instead of as fast as possible.
-- wrk times each request from its sending, so the pause is not latency.
local pace_ms = tonumber(os.getenv("BENCH_PACE_MS") or "")
if pace_ms then
   function delay()
      return math.floor(-math.log(1 - math.random()) * pace_ms + 0.5)
   end
end

function setup(thread)
   thread:set("thread_index", thread_count)
   thread_count = thread_count + 1
   table.insert(threads, thread)
end

local function split(s, sep)
   local out = {}
   if s == nil or s == "" then return out end
   for part in string.gmatch(s, "([^" .. sep .. "]+)") do
      table.insert(out, part)
   end
   return out
end

local function escape(s)
   return (s:gsub("&", "&amp;"):gsub("<", "&lt;"):gsub(">", "&gt;"))
end

local function param(name, value)
   return '<PARAMETER NAME="' .. name .. '">' .. escape(value) .. '</PARAMETER>'
end

local keys, key_mode, action, fixed, vary_name, vary_values, rid_tag
local n = 0
counts = {}

function init(args)
   action = os.getenv("BENCH_ACTION") or "ANVEO.COUNTRIES.LIST"
   key_mode = os.getenv("BENCH_KEY_MODE") or "one"
   rid_tag = os.getenv("BENCH_REQUEST_ID")
   if rid_tag == "" then rid_tag = nil end
   keys = {}
   local path = os.getenv("BENCH_KEYS")
   if path and path ~= "" then
      for line in io.lines(path) do
         if line ~= "" then table.insert(keys, line) end
      end
   end
   if #keys == 0 then table.insert(keys, "dg_0000000000000000_" .. string.rep("0", 64)) end
   fixed = ""
   for _, kv in ipairs(split(os.getenv("BENCH_PARAMS"), ";")) do
      local k, v = kv:match("^([^=]+)=(.*)$")
      fixed = fixed .. param(k, v)
   end
   vary_values = {}
   local vary = os.getenv("BENCH_VARY")
   if vary and vary ~= "" then
      local values
      vary_name, values = vary:match("^([^=]+)=(.*)$")
      vary_values = split(values, ",")
   end
   -- Threads start at different points of the key list.
   n = (thread_index or 0) * 7919
end

function request()
   n = n + 1
   local key = keys[1]
   if key_mode == "rotate" then key = keys[(n % #keys) + 1] end
   local body = {'<?xml version="1.0" standalone="no" ?><REQUEST><USERTOKEN><USERKEY>', key,
                 '</USERKEY></USERTOKEN><ACTION NAME="', action, '">', fixed}
   if #vary_values > 0 then
      table.insert(body, param(vary_name, vary_values[(n % #vary_values) + 1]))
   end
   if rid_tag then
      table.insert(body, param("REQUEST_ID", rid_tag .. "-" .. (thread_index or 0) .. "-" .. n))
   end
   table.insert(body, '</ACTION></REQUEST>')
   return wrk.format("POST", "/api/v3.asp", {["Content-Type"] = "application/xml"}, table.concat(body))
end

function response(status, headers, body)
   local code = body and body:match('NAME="ERROR_CODE">([%w_]+)<')
   if not code then
      if status == 200 then code = "OK" else code = "HTTP_" .. status end
   end
   counts[code] = (counts[code] or 0) + 1
end

local function json_string(s)
   return '"' .. tostring(s):gsub('[%c"\\]', "") .. '"'
end

function done(summary, latency, requests)
   local total = {}
   for _, t in ipairs(threads) do
      local c = t:get("counts") or {}
      for k, v in pairs(c) do total[k] = (total[k] or 0) + v end
   end
   local parts = {}
   for k, v in pairs(total) do table.insert(parts, json_string(k) .. ":" .. v) end
   local e = summary.errors
   print(string.format(
      'BENCH_RESULT {"requests":%d,"duration_us":%d,"p50_us":%d,"p90_us":%d,"p99_us":%d,"max_us":%d,'
         .. '"mean_us":%.1f,"socket_errors":{"connect":%d,"read":%d,"write":%d,"timeout":%d},'
         .. '"non2xx":%d,"codes":{%s}}',
      summary.requests, summary.duration, latency:percentile(50), latency:percentile(90),
      latency:percentile(99), latency.max, latency.mean, e.connect, e.read, e.write, e.timeout,
      e.status, table.concat(parts, ",")))
end
