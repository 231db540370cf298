-- wrk -s bench/e2e/wrk-raw.lua ... with WRK_RAW_FILE=FILE: every request is FILE's bytes as they are (here a
-- TLS ClientHello). The loopback nginx backend answers them with 400 and closes, so wrk counts one request
-- (a non-2xx one) per connection and reconnects. Reports through wrk-report.lua's done().
local here = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
dofile(here .. "wrk-report.lua")

local path = os.getenv("WRK_RAW_FILE") or error("WRK_RAW_FILE is not set")
local f = assert(io.open(path, "rb"))
local raw = f:read("*a")
f:close()

-- wrk 4.1 checks its request once at start with its HTTP parser, by one call of request() in the first thread's
-- Lua state, and refuses one that is not HTTP. So that first call answers a plain GET (never sent) and every
-- later call the raw bytes. Run with -t 1: another thread's state would send the GET on its first connection.
-- A global request() is called for every request (setting wrk.request in init() is not used by wrk 4.1).
local check_request = wrk.format("GET", "/")
local calls = 0

function request()
  calls = calls + 1
  if calls == 1 then return check_request end
  return raw
end
