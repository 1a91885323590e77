-- Health of an Argo Rollouts Rollout, written for soll in the Argo CD
-- health script style: the object is the global obj, the answer a table.
local hs = {}

if obj.status == nil then
  -- Answering Unknown is allowed: soll reports it as the script's verdict.
  hs.status = "Unknown"
  hs.message = "The rollout controller has not reported a status yet"
  return hs
end

if obj.status.conditions ~= nil then
  for _, c in ipairs(obj.status.conditions) do
    if c.type == "InvalidSpec" and c.status == "True" then
      hs.status = "Degraded"
      hs.message = c.message
      return hs
    end
    if c.type == "Progressing" and c.reason == "ProgressDeadlineExceeded" then
      hs.status = "Degraded"
      hs.message = c.message
      return hs
    end
  end
end

-- The controller reports observedGeneration as a string.
local seen = obj.status.observedGeneration
if seen ~= nil and seen ~= tostring(obj.metadata.generation) then
  hs.status = "Progressing"
  hs.message = "Generation " .. tostring(obj.metadata.generation) .. " not yet observed"
  return hs
end

local want = obj.spec.replicas or 1
local updated = obj.status.updatedReplicas or 0
local total = obj.status.replicas or 0
local available = obj.status.availableReplicas or 0
if updated < want then
  hs.status = "Progressing"
  hs.message = string.format("%d of %d replicas updated", updated, want)
  return hs
end
if total > updated then
  hs.status = "Progressing"
  hs.message = string.format("%d old replicas still running", total - updated)
  return hs
end
if available < want then
  hs.status = "Progressing"
  hs.message = string.format("%d of %d replicas available", available, want)
  return hs
end

local blueGreen = obj.spec.strategy and obj.spec.strategy.blueGreen
if blueGreen ~= nil then
  if obj.status.activeSelector ~= obj.status.currentPodHash then
    hs.status = "Progressing"
    hs.message = "Active Service " .. tostring(blueGreen.activeService) .. " not yet switched to the new pods"
    return hs
  end
  hs.status = "Healthy"
  hs.message = "Active Service " .. blueGreen.activeService .. " serves pods " .. obj.status.currentPodHash
  return hs
end

hs.status = "Healthy"
hs.message = string.format("All %d replicas updated and available", want)
return hs
