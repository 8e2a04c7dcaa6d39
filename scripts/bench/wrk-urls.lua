-- wrk script for scripts/bench.sh: GET every path of a URL list (one per line, the reference BFS's
-- ref-urls.txt), cycling, so nginx serves the same pages a crawl fetches, at the same concurrency.
-- Usage: wrk -t2 -c16 -d10s -s wrk-urls.lua http://127.0.0.1:PORT -- URL_LIST
local counter = 0
local threads = {}

function setup(thread)
  thread:set("id", counter)
  counter = counter + 1
  table.insert(threads, thread)
end

function init(args)
  paths = {}
  for line in io.lines(args[1]) do
    if line ~= "" then paths[#paths + 1] = line end
  end
  -- each thread starts at its own offset, so the threads do not fetch the same page in lockstep
  i = math.floor(#paths * id / 2)
end

function request()
  i = i % #paths + 1
  return wrk.format("GET", paths[i])
end
