"""The Lua scripts of the real migration engine, and the ``RESTORE`` ttl rule they follow.

One batch costs one round trip per side: the source runs :data:`SCAN_DUMP_SCRIPT` (a full-sync
page) or :data:`DUMP_SCRIPT` (given keys), the target runs :data:`RESTORE_SCRIPT` (or receives
the RESP commands :data:`SCAN_DUMP_SCRIPT` encoded, as they are).
"""

from __future__ import annotations

#: Source side of a batch: ``DUMP`` + ``PTTL`` of each key (atomically), packed into one reply
#: ``{keys handled, entries}``; an entry is ``"<key index> <restore ttl> <length>\\n<payload>"``.
#: Missing keys have no entry. Stops early after ``ARGV[1]`` payload bytes.
DUMP_SCRIPT = """
local budget = tonumber(ARGV[1])
local parts, size, done = {}, 0, 0
for i, key in ipairs(KEYS) do
  local payload = redis.call('DUMP', key)
  if payload then
    local ttl = redis.call('PTTL', key)
    if ttl < 0 then ttl = 0 elseif ttl == 0 then ttl = 1 end
    parts[#parts + 1] = string.format('%d %d %d\\n', i, ttl, #payload)
    parts[#parts + 1] = payload
    size = size + #payload
  end
  done = i
  if size >= budget then break end
end
return {done, table.concat(parts)}
"""

#: Source side of a full-sync batch: one ``SCAN ARGV[1] COUNT ARGV[2]`` page, whose keys are read
#: with ``MGET`` in chunks (strings: the cheap path; a chunk holds about as many keys as the byte
#: budget left allows, judged from the values read so far) and, for any other type (``MGET`` answers
#: nil for it), ``DUMP``; and ``PTTL`` unless ``ARGV[4]`` is ``"0"`` (the database has no key with a
#: TTL). Answers ``{next cursor, keys scanned, commands, keys copied, value bytes, leftover,
#: replies}``: ``commands`` holds the target's commands, already encoded in RESP: one ``MSET`` of
#: every string without a TTL (a HyperLogLog is a string too), ``SET name value PX ttl`` for a
#: string with one, ``RESTORE name ttl payload REPLACE`` otherwise; ``replies`` is how many
#: commands (each answers ``+OK``). The engine sends them to the target as they are (no key is
#: parsed or encoded in Python). Keys gone since the scan have no command. After ``ARGV[3]`` value
#: bytes it stops: the keys not read yet are the leftover (copied with :data:`DUMP_SCRIPT`).
SCAN_DUMP_SCRIPT = """
local page = redis.call('SCAN', ARGV[1], 'COUNT', ARGV[2])
local keys, budget, with_ttl = page[2], tonumber(ARGV[3]), ARGV[4] ~= '0'
local call = redis.call
local mset, m, strings, parts, n = {}, 0, 0, {}, 0
local size, done, count, replies, total = 0, 0, 0, 0, #keys
local chunk = 16
-- RESP length headers by length (Lua interns every new string: make each one once).
local keyhead = setmetatable({}, {__index = function(t, len)
  local text = '$' .. len .. '\\r\\n'
  t[len] = text
  return text
end})
local valuehead = setmetatable({}, {__index = function(t, len)
  local text = '\\r\\n$' .. len .. '\\r\\n'
  t[len] = text
  return text
end})
while done < total and size < budget do
  local first, last = done + 1, math.min(total, done + chunk)
  local values = call('MGET', unpack(keys, first, last))
  for i = first, last do
    local key, value = keys[i], values[i - done]
    local restore = not value
    if restore then value = call('DUMP', key) end
    if value then
      local ttl = nil
      if with_ttl then
        local t = call('PTTL', key)
        if t > 0 then ttl = string.format('%d', t) elseif t == 0 then ttl = '1' end
      end
      if restore then
        ttl = ttl or '0'
        parts[n + 1] = '*5\\r\\n$7\\r\\nRESTORE\\r\\n$' .. #key .. '\\r\\n'
        parts[n + 2] = key
        parts[n + 3] = '\\r\\n$' .. #ttl .. '\\r\\n' .. ttl .. '\\r\\n$' .. #value .. '\\r\\n'
        parts[n + 4] = value
        parts[n + 5] = '\\r\\n$7\\r\\nREPLACE\\r\\n'
        n = n + 5
        replies = replies + 1
      elseif ttl then
        parts[n + 1] = '*5\\r\\n$3\\r\\nSET\\r\\n$' .. #key .. '\\r\\n'
        parts[n + 2] = key
        parts[n + 3] = '\\r\\n$' .. #value .. '\\r\\n'
        parts[n + 4] = value
        parts[n + 5] = '\\r\\n$2\\r\\nPX\\r\\n$' .. #ttl .. '\\r\\n' .. ttl .. '\\r\\n'
        n = n + 5
        replies = replies + 1
      else
        mset[m + 1] = keyhead[#key]
        mset[m + 2] = key
        mset[m + 3] = valuehead[#value]
        mset[m + 4] = value
        mset[m + 5] = '\\r\\n'
        m = m + 5
        strings = strings + 1
      end
      count = count + 1
      size = size + #value
    end
    if size >= budget then
      done = i
      break
    end
  end
  if size < budget then done = last end
  -- The next chunk: as many keys as the budget left holds at the mean value size so far.
  chunk = math.max(1, math.min(1024, math.floor((budget - size) * done / math.max(size, 1))))
end
local commands = table.concat(parts)
if m > 0 then
  commands = '*' .. (1 + 2 * strings) .. '\\r\\n$4\\r\\nMSET\\r\\n' .. table.concat(mset) .. commands
  replies = replies + 1
end
local leftover = {}
for i = done + 1, total do leftover[#leftover + 1] = keys[i] end
return {page[1], total, commands, count, size, leftover, replies}
"""

#: Target side of a batch: ``RESTORE key ttl payload REPLACE`` for each entry of ``ARGV[1]``;
#: with ``ARGV[2] == "1"``, ``DEL`` the keys that have no entry. Answers ``{restored, deleted}``.
RESTORE_SCRIPT = """
local blob = ARGV[1]
local restored, count, pos = {}, 0, 1
while pos <= #blob do
  local nl = string.find(blob, '\\n', pos, true)
  local i, ttl, len = string.match(string.sub(blob, pos, nl - 1), '^(%d+) (%d+) (%d+)$')
  i, len = tonumber(i), tonumber(len)
  redis.call('RESTORE', KEYS[i], ttl, string.sub(blob, nl + 1, nl + len), 'REPLACE')
  restored[i] = true
  count = count + 1
  pos = nl + len + 1
end
local deleted = 0
if ARGV[2] == '1' then
  for i, key in ipairs(KEYS) do
    if not restored[i] then deleted = deleted + redis.call('DEL', key) end
  end
end
return {count, deleted}
"""


def restore_ttl(pttl: int) -> int:
    """The ``RESTORE`` ttl argument for a source ``PTTL`` (-1 = no expiry -> 0; never 0 for a TTL)."""
    return 0 if pttl < 0 else max(1, pttl)
