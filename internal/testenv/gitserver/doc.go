// Package gitserver runs real Git servers on loopback for tests: a smart HTTP
// server backed by `git http-backend` (devenv/githttp, the Git HTTP server the
// demo and benchmark use too, here optionally with basic auth and TLS from an
// in-process CA) and an SSH server that runs `git-upload-pack` and
// `git-receive-pack` for public-key authenticated clients.
//
// Both servers serve a Repos root of bare repositories, which tests fill from
// fixture folders and change with commits, branches and tags. A Repos may be
// shared so the same repository is reachable over HTTP and SSH. Every git
// process, on the server and in the Client helper, runs with a clean
// environment, so the developer's git configuration never leaks into a test.
//
// The package needs the `git` CLI (with git-http-backend) and, for tests that
// use the OpenSSH client, `ssh` from openssh-client.
package gitserver
