// Small constructors shared by the applications of this repository.
local labels = import 'labels.libsonnet';
{
  deployment(name, image, replicas):: {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: name, labels: labels.app(name) },
    spec: {
      replicas: replicas,
      selector: { matchLabels: labels.app(name) },
      template: {
        metadata: { labels: labels.app(name) },
        spec: { containers: [{ name: name, image: image }] },
      },
    },
  },
  service(name, port):: {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: name, labels: labels.app(name) },
    spec: { selector: labels.app(name), ports: [{ port: port }] },
  },
}
