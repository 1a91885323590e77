-- A check in the style people write for their own CRDs, using the libraries
-- the sandbox offers: string, table, math and os.time.
local hs = {status = "Progressing", message = "Waiting for the widget"}
if obj.status == nil then
  return hs
end
local ready, total = 0, 0
for _, part in ipairs(obj.status.parts or {}) do
  total = total + 1
  if string.lower(part.state) == "ready" then
    ready = ready + 1
  end
end
local broken = {}
for _, part in ipairs(obj.status.parts or {}) do
  if part.state:find("^Fail") then
    table.insert(broken, part.name)
  end
end
table.sort(broken)
if #broken > 0 then
  hs.status = "Degraded"
  hs.message = string.format("%d of %d parts failed: %s", #broken, total, table.concat(broken, ", "))
  return hs
end
if total > 0 and ready == total and os.time() > 0 then
  hs.status = "Healthy"
  hs.message = string.format("All %d parts ready (%d%%)", total, math.floor(100 * ready / total))
end
return hs
