// Package glob matches soll's patterns: names, URLs and kinds in which only
// "*" is special. A star matches any run of characters, "/" included, so one
// pattern covers Application names ("team-a/*"), repository URLs
// ("https://git.example.com/team-a/*") and API groups ("*.example.com").
// Everything else matches itself, which keeps "?", "[" and "\" literal: a
// cluster URL such as "https://[fd00::1]:6443" is a valid pattern that
// matches only itself.
//
// RBAC objects and the rules of Projects use the same patterns, so a user
// who learns one knows the other.
package glob
