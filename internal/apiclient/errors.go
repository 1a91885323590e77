package apiclient

import (
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"soll.dev/internal/apitypes"
)

// Error is an error answer of the server: its HTTP status and the JSON
// body every soll error has ({code, message, field}).
type Error struct {
	// Server is the base URL of the server that answered.
	Server string
	// Method and Path are the request's.
	Method, Path string
	// Status is the HTTP status code.
	Status int
	// Code is the server's class of error: NotFound, Invalid,
	// Unauthorized, Forbidden, Conflict, AlreadyExists, Throttled, ...
	Code string
	// Message says what went wrong, as the server put it.
	Message string
	// Field is the JSON path of the request field to blame, if any.
	Field string
	// RetryAfter is how long the server asks to wait (429 answers).
	RetryAfter time.Duration
}

func (e *Error) Error() string {
	msg := e.Message
	if msg == "" {
		msg = http.StatusText(e.Status)
	}
	if e.Field != "" && !strings.Contains(msg, e.Field) {
		msg = e.Field + ": " + msg
	}
	switch e.Status {
	case http.StatusUnauthorized:
		return fmt.Sprintf("%s (HTTP 401 from %s): log in with soll login %s", msg, e.Server, e.Server)
	case http.StatusTooManyRequests:
		if e.RetryAfter > 0 {
			return fmt.Sprintf("%s (HTTP 429 from %s): retry after %s", msg, e.Server, e.RetryAfter)
		}
	}
	return fmt.Sprintf("%s (HTTP %d %s)", msg, e.Status, e.Code)
}

// IsNotFound, IsConflict, IsUnauthorized and IsNotImplemented classify an
// error returned by a Client.
func IsNotFound(err error) bool       { return hasStatus(err, http.StatusNotFound) }
func IsUnauthorized(err error) bool   { return hasStatus(err, http.StatusUnauthorized) }
func IsNotImplemented(err error) bool { return hasStatus(err, http.StatusNotImplemented) }

// IsConflict is true for a stale resourceVersion or a busy app (409
// Conflict), not for AlreadyExists (also 409).
func IsConflict(err error) bool {
	var e *Error
	return errors.As(err, &e) && e.Status == http.StatusConflict && e.Code == "Conflict"
}

func hasStatus(err error, status int) bool {
	var e *Error
	return errors.As(err, &e) && e.Status == status
}

// maxErrorBody bounds how much of an error answer is read.
const maxErrorBody = 64 << 10

// decodeError reads an error answer. A body that is not soll's JSON error
// (a proxy's page, a plain-text refusal of the SSO handlers) becomes the
// message, shortened to its first line.
func decodeError(server, method, path string, resp *http.Response) error {
	e := &Error{Server: server, Method: method, Path: path, Status: resp.StatusCode}
	b, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
	var body apitypes.Error
	if json.Unmarshal(b, &body) == nil && (body.Code != "" || body.Message != "") {
		e.Code, e.Message, e.Field = body.Code, body.Message, body.Field
	} else {
		line, _, _ := strings.Cut(strings.TrimSpace(string(b)), "\n")
		if len(line) > 200 {
			line = line[:200] + "..."
		}
		e.Message = line
	}
	if e.Code == "" {
		e.Code = strings.ReplaceAll(http.StatusText(resp.StatusCode), " ", "")
	}
	if s := resp.Header.Get("Retry-After"); s != "" {
		if n, err := strconv.Atoi(s); err == nil && n >= 0 {
			e.RetryAfter = time.Duration(n) * time.Second
		} else if t, err := http.ParseTime(s); err == nil {
			e.RetryAfter = time.Until(t).Round(time.Second)
		}
	}
	return e
}

// UnreachableError says that the server could not be reached or did not
// answer: a wrong address, soll not running, a network or TLS problem.
type UnreachableError struct {
	// Server is the base URL that was tried.
	Server string
	Err    error
}

func (e *UnreachableError) Error() string {
	hint := "check the address and that soll is running there"
	var unknownCA x509.UnknownAuthorityError
	var hostname x509.HostnameError
	var invalid x509.CertificateInvalidError
	if errors.As(e.Err, &unknownCA) || errors.As(e.Err, &hostname) || errors.As(e.Err, &invalid) {
		hint = "the server's TLS certificate is not trusted: add its CA to the system's trust store, or pass --insecure-skip-tls-verify for a test server"
	} else if strings.Contains(e.Err.Error(), "server gave HTTP response to HTTPS client") {
		hint = "the server speaks plain HTTP: use an http:// URL (or --plaintext)"
	}
	return fmt.Sprintf("cannot reach soll at %s: %v: %s", e.Server, e.Err, hint)
}

func (e *UnreachableError) Unwrap() error { return e.Err }
