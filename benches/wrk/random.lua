-- wrk script of the load benchmark (benches/load.rs runs it): requests over random customers of
-- the synthetic data (src/db/scale.rs), each with the token of the partner that sold the customer.
--
--   wrk -t2 -c32 -d30s --latency -s benches/wrk/random.lua http://127.0.0.1:18181 -- \
--       <eligibility|floor|recommendations|renewals> <customers> <tokens file, one token per partner>
--       [customers per partner, 100 by default]

local mode, customers, tokens, per_partner = "eligibility", 1, {}, 100
-- Slots the partner sold (slot 8 is another channel's).
local slots = {0, 1, 2, 3, 4, 5, 6, 7, 9}

function init(args)
    mode = args[1]
    customers = tonumber(args[2])
    per_partner = tonumber(args[4] or "100")
    for line in io.lines(args[3]) do
        tokens[#tokens + 1] = line
    end
    math.randomseed(os.time() + tonumber(tostring({}):sub(8), 16))
end

local function customer(k)
    return string.format("c1000000-0000-4000-8000-%012x", k)
end

local function subscription(k, slot)
    return string.format("5100000%d-0000-4000-8000-%012x", slot, k)
end

function request()
    local k = math.random(0, customers - 1)
    local partner = math.floor(k / per_partner) % 1000
    local path
    if mode == "floor" then
        path = "/bench/floor/" .. customer(k) .. "/" .. subscription(k, math.random(0, 7))
    elseif mode == "recommendations" then
        path = "/v1/customers/" .. customer(k) .. "/upgrade-recommendations"
    elseif mode == "renewals" then
        path = "/v1/renewals?termEndTo=" .. os.date("!%Y-%m-%d", os.time() + 400 * 86400)
    else
        path = "/v1/customers/" .. customer(k) .. "/subscriptions/"
            .. subscription(k, slots[math.random(1, #slots)]) .. "/upgrades"
    end
    return wrk.format("GET", path, {["Authorization"] = "Bearer " .. tokens[partner + 1]})
end
