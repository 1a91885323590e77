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
// directory.
//
// Their environment is clean: PATH=/usr/local/bin:/usr/bin:/bin, LANG=C,
// HOME and TMPDIR in the private directory, SOLL_APP_NAME,
// SOLL_APP_NAMESPACE, SOLL_APP_PROJECT, SOLL_APP_REVISION and
// SOLL_DESTINATION_NAMESPACE, and the Application's declared env, each
// variable under a prefix: STAGE arrives as SOLL_ENV_STAGE and, for
// plugins written for Argo CD, ARGOCD_ENV_STAGE. An Application can thus
// never set a variable that changes how programs run (LD_PRELOAD,
// BASH_ENV, PATH, ...): the repository's files would become code in the
// plugin's process. Names are checked (letters, digits and _, not first a
// digit; at most MaxEnvNameBytes), as are their number (MaxEnv) and size
// (MaxEnvBytes).
//
// The programs run sandboxed (process.Sandbox): with Landlock, they may
// read and execute the system directories (process.SystemDirs) and the
// program named by an absolute path, read and write their private
// directory (the copy, HOME, TMPDIR), and nothing else: not the
// service-account token, soll's cache, the shared snapshots, /proc or
// /tmp. Each of their processes may hold at most the render's
// MaxMemoryBytes of data memory. Each run gets a process group of its
// own, killed as a whole when the plugin's Timeout passes, the render is
// canceled, Generate prints more than MaxOutputBytes, or the program
// exits. A failure quotes the last 4 KiB of standard error, with the
// temporary directory taken out of it. Standard output is decoded with
// render/manifest; objects come from the file "<app path> (plugin
// <name>)", and lines are lines of the output.
//
// The network is not restricted (plugins may fetch dependencies), and
// where the kernel has no Landlock the programs can read every file the
// controller can; the copy, the clean environment, the process group and
// the limits still hold.
package plugin
