// Package plugin renders applications with generator plugins: programs an
// operator allows in the plugins.yaml key of the soll-config ConfigMap
// (see Config and ParseConfig), such as cue, Tanka or a company's own
// tool, which print the application's manifests.
//
// An Application selects a plugin by name (spec.source.plugin.name), or
// names none and gets the one plugin whose Discover glob matches a file in
// its directory. The plugin never sees the shared repository snapshot: the
// snapshot is copied, through the same confinement and Budget as every
// renderer, into a private temporary directory (symlinks that leave the
// repository or loop are left out of the copy), and the plugin's Init and
// Generate programs run there with the application directory as working
// directory. Their environment is clean: PATH=/usr/local/bin:/usr/bin:/bin,
// HOME in the temporary directory, the Application's declared env (which
// may not set PATH, HOME or SOLL_*), and SOLL_APP_NAME, SOLL_APP_NAMESPACE,
// SOLL_APP_PROJECT, SOLL_APP_REVISION and SOLL_DESTINATION_NAMESPACE.
//
// Each run gets a process group of its own, killed as a whole when the
// plugin's Timeout passes, the render is canceled, Generate prints more
// than MaxOutputBytes, or the program exits. A failure quotes the last
// 4 KiB of standard error, with the temporary directory taken out of it.
// Standard output is decoded with render/manifest; objects come from the
// file "<app path> (plugin <name>)", and lines are lines of the output.
//
// Plugins are the operator's programs, not the repository's: the copy,
// the clean environment and the process group keep a plugin from changing
// the snapshot, reading the controller's environment or outliving its
// render, but they are not a sandbox. A program that reads files outside
// its working directory, uses the network or leaves its process group
// (setsid) is not stopped; run the controller with the isolation those
// need.
package plugin
