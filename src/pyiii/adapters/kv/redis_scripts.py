"""The Lua scripts of the Redis kv store; each runs atomically in Redis, one round trip.

Every script that writes a table gets ``KEYS[1]`` = the table's hash and ``KEYS[2]`` = its
*order index*: a sorted set of the hash's fields scored by insertion sequence (1, 2, 3, ...).
A hash keeps insertion order only while Redis stores it as a listpack (<= 512 fields, values
<= 64 bytes), so the index is what lists keys oldest first at any size:

* a key new to the hash is added at the end (score = highest score + 1, ``O(log n)``); writing
  a key that exists keeps its place; a deleted key leaves the index, so a key written again
  after a delete goes to the end (as in the memory and SQLite stores);
* a hash that empties takes its index with it (Redis deletes an empty hash, the script deletes
  the index), so no index outlives its table;
* *backfill*: keys written before the index existed (or by an engine without it) are added at
  the end, in the hash's own order (``HKEYS``: insertion order for a listpack). It runs before
  a write when ``ZCARD < HLEN`` (both ``O(1)``), so a new key always lands after them; the full
  pass costs ``O(n log n)`` once per table.
"""

from __future__ import annotations

_ORDER_HELPERS = """
local function last_seq(z)
  local top = redis.call('ZRANGE', z, -1, -1, 'WITHSCORES')
  if top[2] then return tonumber(top[2]) end
  return 0
end

local function backfill(h, z)
  if redis.call('ZCARD', z) >= redis.call('HLEN', h) then return end
  local seq = last_seq(z)
  for _, key in ipairs(redis.call('HKEYS', h)) do
    if not redis.call('ZSCORE', z, key) then
      seq = seq + 1
      redis.call('ZADD', z, seq, key)
    end
  end
end

-- A key new to the hash goes to the end (a stale entry of it, left by an engine without the
-- index, moves there too).
local function append(z, key)
  redis.call('ZADD', z, last_seq(z) + 1, key)
end

local function forget(h, z, key)
  if redis.call('EXISTS', h) == 0 then redis.call('DEL', z) else redis.call('ZREM', z, key) end
end
"""

# ARGV: field, value. Returns the previous value (nil when the field was new).
SET = _ORDER_HELPERS + """
local old = redis.call('HGET', KEYS[1], ARGV[1])
backfill(KEYS[1], KEYS[2])
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
if not old then append(KEYS[2], ARGV[1]) end
return old
"""

# ARGV: field. Returns the previous value.
DELETE = _ORDER_HELPERS + """
local old = redis.call('HGET', KEYS[1], ARGV[1])
if old then
  redis.call('HDEL', KEYS[1], ARGV[1])
  forget(KEYS[1], KEYS[2], ARGV[1])
end
return old
"""

# ARGV: field, expected (ignored when absent), expected_exists ('1'|'0'), new value.
COMPARE_AND_SET = _ORDER_HELPERS + """
local cur = redis.call('HGET', KEYS[1], ARGV[1])
local same = (ARGV[3] == '0' and cur == false) or (ARGV[3] == '1' and cur == ARGV[2])
if same then
  backfill(KEYS[1], KEYS[2])
  redis.call('HSET', KEYS[1], ARGV[1], ARGV[4])
  if not cur then append(KEYS[2], ARGV[1]) end
  return {1}
end
return {0, cur}
"""

# Repairs what a listing found out of step (only engines without the index cause it).
# ARGV: index entries whose key the hash did not hold; each still absent is removed. Then the
# hash's keys missing from the index are appended (backfill).
REPAIR = _ORDER_HELPERS + """
for _, key in ipairs(ARGV) do
  if redis.call('HEXISTS', KEYS[1], key) == 0 then redis.call('ZREM', KEYS[2], key) end
end
if redis.call('EXISTS', KEYS[1]) == 0 then redis.call('DEL', KEYS[2]) return 0 end
backfill(KEYS[1], KEYS[2])
return 1
"""

# KEYS: old hash, new hash, old index, new index. Moves old into new; fields new already has
# keep their value and place, the others are appended in old's order.
MERGE_RENAME = _ORDER_HELPERS + """
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
backfill(KEYS[1], KEYS[3])
if redis.call('EXISTS', KEYS[2]) == 0 then
  redis.call('RENAME', KEYS[1], KEYS[2])
  redis.call('DEL', KEYS[4])
  if redis.call('EXISTS', KEYS[3]) == 1 then redis.call('RENAME', KEYS[3], KEYS[4]) end
  return 1
end
backfill(KEYS[2], KEYS[4])
local function move(key)
  local value = redis.call('HGET', KEYS[1], key)
  if not value then return end
  if redis.call('HSETNX', KEYS[2], key, value) == 1 then append(KEYS[4], key) end
  redis.call('HDEL', KEYS[1], key)
end
for _, key in ipairs(redis.call('ZRANGE', KEYS[3], 0, -1)) do move(key) end
for _, key in ipairs(redis.call('HKEYS', KEYS[1])) do move(key) end
redis.call('DEL', KEYS[1], KEYS[3])
return 1
"""

RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""
