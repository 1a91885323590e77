// Package project decides what a Project allows its Applications: which
// repositories they deploy from, which clusters and namespaces they deploy
// to, which kinds of resources they manage and when they may sync.
//
// The package is pure policy. It reads the Project and the Application it is
// given and never talks to a cluster; the controller and the API server load
// the objects and act on the answers. Rules that are broken come back as
// errors that name the field at fault and the Project field that forbids
// it, so they can go into a condition unchanged.
//
// Patterns are the globs of package soll.dev/internal/glob: "*" matches any
// run of characters, "/" included, so "https://git.example.com/team-a/*"
// covers every repository below team-a, however deep. A leading "!" on a
// source repository or a destination namespace denies what it matches, even
// when another entry allows it.
//
// Sync windows follow the rules Argo CD users know: a deny window that is
// open holds syncs back, and when a Project has allow windows for an
// Application, syncs outside all of them are held back too. See Windows.
package project
