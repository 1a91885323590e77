// The guestbook: a frontend and its service; the environment comes from an
// external variable, the image and replica count from top-level arguments.
local k = import 'k.libsonnet';
local env = std.extVar('env');

function(image, replicas=1)
  [
    k.deployment('frontend', image, replicas) + {
      metadata+: { annotations: { 'guestbook.example/env': env } },
    },
    [k.service('frontend', 80)],
  ]
