-- wrk script for `scripts/bench receive`: each request POSTs the next PER_REQUEST envelopes of the file ENVELOPES
-- (one JSON object a line), as one object or a JSON array. Threads take interleaved lines, so no two requests carry
-- the same envelope until the file is used up.
local threads = {}
local count = 0

function setup(thread)
    thread:set("id", count)
    count = count + 1
    table.insert(threads, thread)
end

function init(args)
    lines = {}
    for line in io.lines(os.getenv("ENVELOPES")) do lines[#lines + 1] = line end
    per = tonumber(os.getenv("PER_REQUEST") or "1")
    stride = tonumber(os.getenv("THREADS") or "2")
    index = id + 1
end

function request()
    local parts = {}
    for k = 1, per do
        parts[k] = lines[index]
        index = index + stride
        if index > #lines then index = id + 1 end
    end
    local body = per == 1 and parts[1] or ("[" .. table.concat(parts, ",") .. "]")
    return wrk.format("POST", "/thinglog/forward", {["Content-Type"] = "application/json"}, body)
end
