-- The Redis + Lua bid path that issue 15 measures Paddle against: one bid,
-- atomically (Redis runs a script without interleaving other commands).
-- scripts/bench-baseline loads it with SCRIPT LOAD and drives it with
-- redis-benchmark through EVALSHA, on a redis-server started with
-- `appendonly yes` and `appendfsync always`, so a bid is in the append-only
-- file, fsynced, before its reply leaves the server.
--
-- KEYS[1]  the lot, a hash: status ("open" to take bids), price (cents)
-- KEYS[2]  the set of bid ids seen on this lot (makes a retry idempotent)
-- KEYS[3]  the lot's bids, a list, oldest first
-- KEYS[4]  the channel the new price is published on
-- ARGV[1]  the bid id, chosen by the client
-- ARGV[2]  the bidder's paddle number
-- ARGV[3]  the increment in cents: the bid raises the price by it
--
-- Replies: the new price (an integer) when the bid is taken;
-- "duplicate" when this bid id was seen before (the first outcome stands,
-- nothing changes); an error reply "lot_not_open" when the lot does not
-- take bids.

if redis.call('HGET', KEYS[1], 'status') ~= 'open' then
  return redis.error_reply('lot_not_open')
end

-- SADD answers 0 when the id is already in the set: a retried bid.
if redis.call('SADD', KEYS[2], ARGV[1]) == 0 then
  return 'duplicate'
end

local price = redis.call('HINCRBY', KEYS[1], 'price', ARGV[3])

-- The bid as "id paddle price", appended to the lot's history.
redis.call('RPUSH', KEYS[3], ARGV[1] .. ' ' .. ARGV[2] .. ' ' .. price)

-- Watchers subscribed to the channel get the new price.
redis.call('PUBLISH', KEYS[4], price)

return price
