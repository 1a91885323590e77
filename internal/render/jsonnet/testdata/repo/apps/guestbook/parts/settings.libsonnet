// Relative to this file, through the application's own tree.
(import '../../../lib/labels.libsonnet').app('settings') + { debug: std.extVar('debug') }
