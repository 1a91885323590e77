if obj.status == nil then
  return {status = "Progressing", message = "Waiting for the widget controller"}
end
if obj.status.explode then
  error("the widget exploded")
end
if obj.status.ready then
  return {status = "Healthy", message = "Widget is ready"}
end
return {status = "Degraded", message = "Widget is broken"}
