local settings = import 'parts/settings.libsonnet';
{
  apiVersion: 'v1',
  kind: 'ConfigMap',
  metadata: { name: 'guestbook-config' },
  data: {
    'app.properties': importstr 'config/app.properties',
    'settings.json': std.manifestJsonMinified(settings),
    'logo.size': std.toString(std.length(importbin 'config/logo.bin')),
  },
}
