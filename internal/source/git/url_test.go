package git

import (
	"strings"
	"testing"
)

func TestParseEndpoint(t *testing.T) {
	t.Parallel()
	tests := []struct {
		url                     string
		key, display, transport string
		hostPort, sshUser       string
		urlUser, urlPassword    string
	}{
		{
			url: "https://GitHub.com/Org/Repo.git", key: "https://github.com/Org/Repo",
			display: "https://GitHub.com/Org/Repo.git", transport: "https://GitHub.com/Org/Repo.git",
		},
		{
			url: "https://github.com:443/Org/Repo/", key: "https://github.com/Org/Repo",
			display: "https://github.com:443/Org/Repo", transport: "https://github.com:443/Org/Repo",
		},
		{
			url: "https://token:s3cret@git.example.com:8443/a/b.git/#frag", key: "https://git.example.com:8443/a/b",
			display: "https://git.example.com:8443/a/b.git", transport: "https://git.example.com:8443/a/b.git",
			urlUser: "token", urlPassword: "s3cret",
		},
		{
			url: "http://127.0.0.1:8080/demo.git", key: "http://127.0.0.1:8080/demo",
			display: "http://127.0.0.1:8080/demo.git", transport: "http://127.0.0.1:8080/demo.git",
		},
		{
			url: "ssh://git@Example.com/org/repo.git", key: "ssh://example.com/org/repo",
			display: "ssh://git@Example.com/org/repo.git", transport: "ssh://git@Example.com/org/repo.git",
			hostPort: "example.com:22", sshUser: "git",
		},
		{
			url: "ssh://deploy@example.com:2222/org/repo", key: "ssh://example.com:2222/org/repo",
			display: "ssh://deploy@example.com:2222/org/repo", transport: "ssh://deploy@example.com:2222/org/repo",
			hostPort: "example.com:2222", sshUser: "deploy",
		},
		{
			url: "git@Example.com:org/repo.git", key: "ssh://example.com/org/repo",
			display: "git@Example.com:org/repo.git", transport: "git@Example.com:org/repo.git",
			hostPort: "example.com:22", sshUser: "git",
		},
		{
			url: "example.com:/srv/repo", key: "ssh://example.com/srv/repo",
			display: "example.com:/srv/repo", transport: "example.com:/srv/repo",
			hostPort: "example.com:22", sshUser: "git",
		},
		{
			url: "git://example.com:9418/repo.git", key: "git://example.com/repo",
			display: "git://example.com:9418/repo.git", transport: "git://example.com:9418/repo.git",
		},
	}
	for _, tt := range tests {
		t.Run(tt.url, func(t *testing.T) {
			ep, err := parseEndpoint(tt.url)
			if err != nil {
				t.Fatal(err)
			}
			got := [...]string{ep.key, ep.display, ep.transport, ep.hostPort, ep.sshUser, ep.urlUser, ep.urlPassword}
			want := [...]string{tt.key, tt.display, tt.transport, tt.hostPort, tt.sshUser, tt.urlUser, tt.urlPassword}
			names := [...]string{"key", "display", "transport", "hostPort", "sshUser", "urlUser", "urlPassword"}
			for i := range got {
				if got[i] != want[i] {
					t.Errorf("%s = %q, want %q", names[i], got[i], want[i])
				}
			}
		})
	}
}

func TestParseEndpointRejects(t *testing.T) {
	t.Parallel()
	tests := []struct {
		url  string
		want string
	}{
		{"", "empty repository URL"},
		{"file:///srv/repo.git", "local file repositories are not supported"},
		{"ftp://example.com/repo", `unsupported scheme "ftp"`},
		{"https:///repo", "has no host"},
		{"/srv/repo.git", "neither a URL with a scheme nor of the form user@host:path"},
		{"ssh://git:hunter2@example.com/repo", "must not contain a password"},
		{"https://user:hunter2@exa mple.com/repo", "invalid repository URL"},
		{"https://example.com/re\npo", "control character"},
	}
	for _, tt := range tests {
		t.Run(tt.url, func(t *testing.T) {
			_, err := parseEndpoint(tt.url)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("parseEndpoint(%q) = %v, want an error mentioning %q", tt.url, err, tt.want)
			}
			if strings.Contains(err.Error(), "hunter2") {
				t.Errorf("error reveals the password: %v", err)
			}
		})
	}
}

func TestNormalizeURLSameRepository(t *testing.T) {
	t.Parallel()
	same := []string{
		"https://github.com/org/repo",
		"https://github.com/org/repo.git",
		"https://github.com/org/repo/",
		"https://GITHUB.com/org/repo.git/",
		"https://user:pw@github.com:443/org/repo.git",
	}
	for _, u := range same {
		got, err := NormalizeURL(u)
		if err != nil {
			t.Fatal(err)
		}
		if got != "https://github.com/org/repo" {
			t.Errorf("NormalizeURL(%q) = %q, want https://github.com/org/repo", u, got)
		}
	}
	// Path case is significant on many servers.
	a, _ := NormalizeURL("https://github.com/org/repo")
	b, _ := NormalizeURL("https://github.com/Org/Repo")
	if a == b {
		t.Errorf("paths differing in case normalise alike: %q", a)
	}
}
