package cluster

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"

	"golang.org/x/sync/singleflight"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	utilnet "k8s.io/apimachinery/pkg/util/net"
	clientauthv1 "k8s.io/client-go/pkg/apis/clientauthentication/v1"
	clientauthv1beta1 "k8s.io/client-go/pkg/apis/clientauthentication/v1beta1"

	sollv1 "soll.dev/api/v1alpha1"
	"soll.dev/internal/render/process"
)

const (
	// expiryMargin is how long before its expirationTimestamp a plugin's
	// token is replaced, so that no request leaves with a token about to
	// expire.
	expiryMargin = 30 * time.Second
	// failureHold is how long a failed run's error answers requests before
	// the plugin runs again: a failing plugin runs at most once per hold,
	// not once per request.
	failureHold = 2 * time.Second
	// maxExecOutput bounds what a plugin may print; an ExecCredential is a
	// few kilobytes.
	maxExecOutput = 1 << 20
	// maxStderrLine bounds the plugin's standard error quoted in errors.
	maxStderrLine      = 200
	kindExecCredential = "ExecCredential"
)

// errExecTimeout is the cause of a run stopped by its timeout.
var errExecTimeout = errors.New("timed out")

// tokenSource runs a Cluster's exec plugin and caches its token. One run
// at a time: concurrent callers share it.
type tokenSource struct {
	cluster string
	spec    sollv1.ClusterExec
	timeout time.Duration
	now     func() time.Time

	group singleflight.Group

	mu     sync.Mutex
	token  string
	expiry time.Time // zero: until the API server answers 401
	err    error     // the last run's failure, answered until errEnd
	errEnd time.Time
}

func newTokenSource(cluster string, e *sollv1.ClusterExec) *tokenSource {
	spec := *e.DeepCopy()
	if spec.APIVersion == "" {
		spec.APIVersion = ExecV1
	}
	timeout := DefaultExecTimeout
	if spec.TimeoutSeconds > 0 {
		timeout = time.Duration(spec.TimeoutSeconds) * time.Second
	}
	return &tokenSource{cluster: cluster, spec: spec, timeout: timeout, now: time.Now}
}

// cached is the cached token, or the held failure of the last run; hit is
// false when neither is there and the plugin must run.
func (s *tokenSource) cached() (token string, hit bool, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	if s.err != nil && now.Before(s.errEnd) {
		return "", true, s.err
	}
	if s.token != "" && (s.expiry.IsZero() || now.Before(s.expiry)) {
		return s.token, true, nil
	}
	return "", false, nil
}

// Token returns the cached token or runs the plugin for one. The run is
// not bound to ctx (other callers may share it), only the wait for it is.
func (s *tokenSource) Token(ctx context.Context) (string, error) {
	if token, hit, err := s.cached(); hit {
		return token, err
	}
	ch := s.group.DoChan("run", func() (any, error) {
		// A caller that missed the cache just as a run ended finds the
		// run's result here instead of running the plugin again.
		if token, hit, err := s.cached(); hit {
			return token, err
		}
		token, expiry, err := s.run()
		s.mu.Lock()
		defer s.mu.Unlock()
		if err != nil {
			s.token, s.err, s.errEnd = "", err, s.now().Add(failureHold)
			return "", err
		}
		s.token, s.expiry, s.err = token, expiry, nil
		return token, nil
	})
	select {
	case <-ctx.Done():
		return "", context.Cause(ctx)
	case r := <-ch:
		if r.Err != nil {
			return "", r.Err
		}
		return r.Val.(string), nil
	}
}

// forget drops token from the cache after the API server refused it, so
// that the next request runs the plugin again. A token replaced meanwhile
// stays.
func (s *tokenSource) forget(token string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.token == token {
		s.token, s.expiry = "", time.Time{}
	}
}

// run runs the plugin once and returns its token and when to stop using
// it (zero: no expiry).
func (s *tokenSource) run() (string, time.Time, error) {
	info, err := execInfo(s.spec.APIVersion)
	if err != nil {
		return "", time.Time{}, s.errorf("%v", err)
	}
	env := []string{envExecInfo + "=" + info}
	if path, ok := os.LookupEnv(envPath); ok {
		env = append(env, envPath+"="+path)
	}
	for _, e := range s.spec.Env {
		env = append(env, e.Name+"="+e.Value)
	}
	ctx, cancel := context.WithTimeoutCause(context.Background(), s.timeout, errExecTimeout)
	defer cancel()
	out, err := process.Run(ctx, process.Command{
		Path:      s.spec.Command,
		Args:      s.spec.Args,
		Env:       env,
		MaxOutput: maxExecOutput,
	})
	if err != nil {
		return "", time.Time{}, s.runError(err)
	}
	return s.parse(out)
}

func (s *tokenSource) errorf(format string, args ...any) error {
	return fmt.Errorf("cluster %s: exec plugin %s: %s", s.cluster, s.spec.Command, fmt.Sprintf(format, args...))
}

func (s *tokenSource) runError(err error) error {
	var pe *process.Error
	if !errors.As(err, &pe) {
		return s.errorf("%v", err)
	}
	switch {
	case errors.Is(pe.Err, errExecTimeout):
		return s.errorf("no credential within %v, so it was killed; fix the plugin or raise spec.exec.timeoutSeconds", s.timeout)
	case errors.Is(pe.Err, process.ErrOutputLimit):
		return s.errorf("printed more than %d bytes on standard output; an ExecCredential is a small JSON object", maxExecOutput)
	}
	if line := firstLine(pe.StderrHead); line != "" {
		return s.errorf("%v: %s", pe.Err, line)
	}
	return s.errorf("%v", pe.Err)
}

// firstLine is the first non-empty line of s, at most maxStderrLine
// characters.
func firstLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.IndexAny(s, "\r\n"); i >= 0 {
		s = s[:i]
	}
	if r := []rune(s); len(r) > maxStderrLine {
		s = string(r[:maxStderrLine]) + "…"
	}
	return s
}

// execInfo is KUBERNETES_EXEC_INFO as client-go sets it: an ExecCredential
// of the plugin's version with spec.interactive false (the plugin has no
// terminal) and no cluster information.
func execInfo(version string) (string, error) {
	meta := metav1.TypeMeta{APIVersion: version, Kind: kindExecCredential}
	var cred any = &clientauthv1.ExecCredential{TypeMeta: meta}
	if version == ExecV1beta1 {
		cred = &clientauthv1beta1.ExecCredential{TypeMeta: meta}
	}
	b, err := json.Marshal(cred)
	return string(b), err
}

// parse reads the ExecCredential the plugin printed. Its errors quote no
// part of the output but the apiVersion and kind.
func (s *tokenSource) parse(out []byte) (string, time.Time, error) {
	var meta metav1.TypeMeta
	if err := json.Unmarshal(out, &meta); err != nil {
		return "", time.Time{}, s.errorf("printed no ExecCredential JSON on standard output: %s", describeJSONError(err))
	}
	if meta.APIVersion != s.spec.APIVersion || meta.Kind != kindExecCredential {
		return "", time.Time{}, s.errorf("printed apiVersion %q kind %q, want apiVersion %s kind %s (spec.exec.apiVersion); make the two agree",
			clip(meta.APIVersion), clip(meta.Kind), s.spec.APIVersion, kindExecCredential)
	}
	token, hasCert, expires, err := decodeStatus(out, s.spec.APIVersion)
	if err != nil {
		return "", time.Time{}, s.errorf("printed an ExecCredential that does not decode: %s", describeJSONError(err))
	}
	switch {
	case token == "" && hasCert:
		return "", time.Time{}, s.errorf("printed a client certificate credential (status.clientCertificateData) without status.token; soll supports token credentials from exec plugins only: make the plugin print a token, or put the certificate in a Secret named by spec.secretName")
	case token == "":
		return "", time.Time{}, s.errorf("printed an ExecCredential without status.token")
	}
	if err := checkToken(token); err != nil {
		return "", time.Time{}, s.errorf("status.token: %v", err)
	}
	var expiry time.Time
	if expires != nil {
		expiry = expires.Add(-expiryMargin)
	}
	return token, expiry, nil
}

// decodeStatus decodes the status of an ExecCredential of the given
// version.
func decodeStatus(out []byte, version string) (token string, hasCert bool, expires *metav1.Time, err error) {
	if version == ExecV1beta1 {
		var c clientauthv1beta1.ExecCredential
		if err := json.Unmarshal(out, &c); err != nil || c.Status == nil {
			return "", false, nil, err
		}
		return c.Status.Token, c.Status.ClientCertificateData != "", c.Status.ExpirationTimestamp, nil
	}
	var c clientauthv1.ExecCredential
	if err := json.Unmarshal(out, &c); err != nil || c.Status == nil {
		return "", false, nil, err
	}
	return c.Status.Token, c.Status.ClientCertificateData != "", c.Status.ExpirationTimestamp, nil
}

// describeJSONError says where JSON went wrong without quoting it
// (encoding/json's syntax errors quote the offending character).
func describeJSONError(err error) string {
	var syntax *json.SyntaxError
	if errors.As(err, &syntax) {
		return fmt.Sprintf("invalid JSON at byte %d", syntax.Offset)
	}
	var typ *json.UnmarshalTypeError
	if errors.As(err, &typ) {
		return fmt.Sprintf("field %s is a JSON %s, want %v", typ.Field, typ.Value, typ.Type)
	}
	return "invalid JSON"
}

// clip shortens a value from the plugin's output quoted in an error.
func clip(s string) string {
	if len(s) > 64 {
		return s[:64] + "…"
	}
	return s
}

// execTransport authenticates each request with the plugin's token and
// drops the token when the API server answers 401.
type execTransport struct {
	src  *tokenSource
	next http.RoundTripper
}

func (t *execTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.Header.Get("Authorization") != "" {
		return t.next.RoundTrip(r)
	}
	token, err := t.src.Token(r.Context())
	if err != nil {
		return nil, err
	}
	r = r.Clone(r.Context()) // a RoundTripper must not change its request
	r.Header.Set("Authorization", "Bearer "+token)
	resp, err := t.next.RoundTrip(r)
	if err == nil && resp.StatusCode == http.StatusUnauthorized {
		t.src.forget(token)
	}
	return resp, err
}

var _ utilnet.RoundTripperWrapper = (*execTransport)(nil)

// WrappedRoundTripper lets client-go reach the transport underneath
// (k8s.io/apimachinery's net.RoundTripperWrapper), to cancel a request
// there.
func (t *execTransport) WrappedRoundTripper() http.RoundTripper { return t.next }
