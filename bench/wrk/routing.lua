-- wrk script of the "http-route" scenario: alternate the two routes,
-- GET /api/hello and GET /hello, so that every proxy really routes.
-- The requests are formatted once (in init), so the per-request cost on the
-- client core is the same as for a plain `wrk URL` run.
local reqs = {}
local n = 0

function init(args)
  reqs[1] = wrk.format("GET", "/api/hello")
  reqs[2] = wrk.format("GET", "/hello")
end

function request()
  n = n % 2 + 1
  return reqs[n]
end
