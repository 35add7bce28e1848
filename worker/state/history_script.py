"""The Lua script behind ``History.record`` (worker/state/history.py): appends one scan to each node's packed
history, in the layout worker/state/history_codec.py describes and decodes.

What it does for each node, and when it trims: worker/state/history.py's docstring ("Writes").
"""

# KEYS[1] the node index, KEYS[2..] node hashes. ARGV: t, values (n x M u16 LE, 65535 = none), prefix length of
# the node keys, M, FINE_S, FINE_SLACK_S, BUCKET_S, COARSE_N, COARSE_SLACK_N, FINE_CAP, COARSE_CAP, TTL, version.
# Returns how many nodes were written.
RECORD = """
local t = tonumber(ARGV[1])
local blob = ARGV[2]
local plen, M = tonumber(ARGV[3]), tonumber(ARGV[4])
local FINE_S, FINE_SLACK = tonumber(ARGV[5]), tonumber(ARGV[6])
local BUCKET, COARSE_N, COARSE_SLACK = tonumber(ARGV[7]), tonumber(ARGV[8]), tonumber(ARGV[9])
local FINE_CAP, COARSE_CAP, TTL, VER = tonumber(ARGV[10]), tonumber(ARGV[11]), tonumber(ARGV[12]), tonumber(ARGV[13])
local NONE = 65535
local char, byte, floor, sub, rep = string.char, string.byte, math.floor, string.sub, string.rep

local function abs14(code, v) return char(code, floor(v / 128), v % 128) end

-- append one entry (v = NONE: missing) to stream s whose last present value is prev
local function put(s, prev, v)
  local last = byte(s, -1)
  if v == NONE then
    if last and last >= 0xF0 and last < 0xFD then return sub(s, 1, -2) .. char(last + 1), prev end
    return s .. char(0xF0), prev
  end
  if prev == NONE then return s .. abs14(0xFE, v), v end
  local d = v - prev
  if d == 0 then
    if last and last >= 0xE0 and last < 0xEF then return sub(s, 1, -2) .. char(last + 1), prev end
    return s .. char(0xE0), prev
  end
  if d > 0 and d <= 111 then return s .. char(2 * d), v end
  if d < 0 and d >= -112 then return s .. char(-2 * d - 1), v end
  return s .. abs14(0xFE, v), v
end

local function put_missing(s, n)
  local last = byte(s, -1)
  if last and last >= 0xF0 and last < 0xFD then
    local add = math.min(n, 0xFD - last)
    s = sub(s, 1, -2) .. char(last + add)
    n = n - add
  end
  local full = floor(n / 14)
  s = s .. rep(char(0xFD), full)
  if n - 14 * full > 0 then s = s .. char(0xEF + n - 14 * full) end
  return s
end

-- drop the first k entries of stream s, keeping the value the rest is relative to
local function cut(s, k)
  if k <= 0 then return s end
  local pos, i, prev, n = 1, 0, NONE, #s
  while pos <= n do
    local b = byte(s, pos)
    local cnt, len, run = 1, 1, 0
    if b >= 0xFE then len = 3; if b == 0xFF then cnt = 0 end
    elseif b >= 0xF0 then cnt = b - 0xEF; run = 0xEF
    elseif b >= 0xE0 then cnt = b - 0xDF; run = 0xDF end
    if cnt > 0 and i + cnt > k then
      local head = ''
      if prev ~= NONE then head = abs14(0xFF, prev) end
      if i >= k then return head .. sub(s, pos) end
      return head .. char(run + i + cnt - k) .. sub(s, pos + 1)
    end
    if b >= 0xFE then prev = byte(s, pos + 1) * 128 + byte(s, pos + 2)
    elseif b < 0xE0 then
      if b % 2 == 0 then prev = prev + b / 2 else prev = prev - (b + 1) / 2 end
    end
    i = i + cnt
    pos = pos + len
  end
  if prev ~= NONE then return abs14(0xFF, prev) end
  return ''
end

local function varint(n)
  local out = ''
  while n >= 128 do out = out .. char(n % 128 + 128); n = floor(n / 128) end
  return out .. char(n)
end

-- how many leading scan entries to drop (at least min_k, and all before cutoff), the new first time and the
-- position in the times stream where the rest starts
local function fine_cut(times, t0, cutoff, nf, min_k)
  local pos, tt, k = 1, t0, 0
  while k < nf - 1 and (tt < cutoff or k < min_k) do
    local d, mul = 0, 1
    while true do
      local b = byte(times, pos)
      pos = pos + 1
      d = d + (b % 128) * mul
      if b < 128 then break end
      mul = mul * 128
    end
    tt = tt + d
    k = k + 1
  end
  return k, tt, pos
end

local SFMT = '<BBI4I4I4I4I4I4' .. rep('HHHHI4H', M)
local fine_fields, coarse_fields = {'s', 't'}, {}
for m = 1, M do fine_fields[#fine_fields + 1] = 'f' .. (m - 1) end
for m = 1, M do coarse_fields[m] = 'a' .. (m - 1); coarse_fields[M + m] = 'x' .. (m - 1) end
local bucket = floor(t / BUCKET)
local written = 0

for i = 2, #KEYS do
  local key = KEYS[i]
  local got = redis.call('HMGET', key, unpack(fine_fields))
  local st = nil
  if got[1] then
    st = {struct.unpack(SFMT, got[1])}
    if st[1] ~= VER or st[2] ~= M then redis.call('DEL', key); st = nil end
  end
  local t0, tl, nf, cb0, nc, ob = 0, 0, 0, 0, 0, 0
  local fl, al, xl, cnt, sum, mx = {}, {}, {}, {}, {}, {}
  if st then
    t0, tl, nf, cb0, nc, ob = st[3], st[4], st[5], st[6], st[7], st[8]
    for m = 1, M do
      local b = 8 + (m - 1) * 6
      fl[m], al[m], xl[m], cnt[m], sum[m], mx[m] = st[b + 1], st[b + 2], st[b + 3], st[b + 4], st[b + 5], st[b + 6]
    end
  else
    for m = 1, M do fl[m], al[m], xl[m], cnt[m], sum[m], mx[m] = NONE, NONE, NONE, 0, 0, 0 end
  end
  if nf == 0 or t > tl then
    local off = (i - 2) * M * 2
    local v = {}
    for m = 1, M do
      local lo, hi = byte(blob, off + 2 * m - 1, off + 2 * m)
      v[m] = lo + hi * 256
    end
    local times, f = '', {}
    if st then times = got[2] or '' end
    for m = 1, M do f[m] = (st and got[2 + m]) or '' end
    if nf == 0 then t0 = t else times = times .. varint(t - tl) end
    tl = t
    nf = nf + 1
    local size = #times
    for m = 1, M do
      f[m], fl[m] = put(f[m], fl[m], v[m])
      size = size + #f[m]
    end
    if t0 < t - FINE_S - FINE_SLACK or size > FINE_CAP then
      local min_k = 0
      if size > FINE_CAP then min_k = math.ceil(nf / 8) end
      local k, tt, pos = fine_cut(times, t0, t - FINE_S, nf, min_k)
      times, t0, nf = sub(times, pos), tt, nf - k
      for m = 1, M do f[m] = cut(f[m], k) end
    end
    local out = {'t', times}
    for m = 1, M do out[#out + 1] = 'f' .. (m - 1); out[#out + 1] = f[m] end
    if nf == 1 and ob == 0 then ob = bucket end
    local closed = bucket > ob
    if closed then
      local cs = {}
      if st then cs = redis.call('HMGET', key, unpack(coarse_fields)) end
      for j = 1, 2 * M do cs[j] = cs[j] or '' end
      if nc == 0 then cb0 = ob
      else
        local gap = ob - (cb0 + nc)
        if gap >= COARSE_N then
          for j = 1, 2 * M do cs[j] = '' end
          for m = 1, M do al[m], xl[m] = NONE, NONE end
          cb0, nc = ob, 0
        elseif gap > 0 then
          for j = 1, 2 * M do cs[j] = put_missing(cs[j], gap) end
          nc = nc + gap
        end
      end
      size = 0
      for m = 1, M do
        if cnt[m] > 0 then
          local mean = floor(sum[m] / cnt[m] + 0.5)
          cs[m], al[m] = put(cs[m], al[m], mean)
          cs[M + m], xl[m] = put(cs[M + m], xl[m], mx[m] - mean)
        else
          cs[m], al[m] = put(cs[m], al[m], NONE)
          cs[M + m], xl[m] = put(cs[M + m], xl[m], NONE)
        end
        cnt[m], sum[m], mx[m] = 0, 0, 0
        size = size + #cs[m] + #cs[M + m]
      end
      nc = nc + 1
      if nc > COARSE_N + COARSE_SLACK or size > COARSE_CAP then
        local k = math.max(0, nc - COARSE_N)
        if size > COARSE_CAP then k = math.max(k, math.ceil(nc / 8)) end
        for j = 1, 2 * M do cs[j] = cut(cs[j], k) end
        cb0, nc = cb0 + k, nc - k
      end
      for j = 1, 2 * M do out[#out + 1] = coarse_fields[j]; out[#out + 1] = cs[j] end
      ob = bucket
    end
    for m = 1, M do
      if v[m] ~= NONE then
        cnt[m] = cnt[m] + 1
        sum[m] = sum[m] + v[m]
        if v[m] > mx[m] then mx[m] = v[m] end
      end
    end
    local packed = {VER, M, t0, tl, nf, cb0, nc, ob}
    for m = 1, M do
      local b = 8 + (m - 1) * 6
      packed[b + 1], packed[b + 2], packed[b + 3] = fl[m], al[m], xl[m]
      packed[b + 4], packed[b + 5], packed[b + 6] = cnt[m], sum[m], mx[m]
    end
    out[#out + 1] = 's'
    out[#out + 1] = struct.pack(SFMT, unpack(packed))
    redis.call('HSET', key, unpack(out))
    if nf == 1 or closed then  -- TTL and index once a bucket: HSET keeps the TTL, a 5-minute-old score will do
      redis.call('EXPIRE', key, TTL)
      redis.call('ZADD', KEYS[1], t, sub(key, plen + 1))
    end
    written = written + 1
  end
end
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', '(' .. (t - COARSE_N * BUCKET))
redis.call('EXPIRE', KEYS[1], TTL)
return written
"""
