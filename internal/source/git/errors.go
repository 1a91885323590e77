package git

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"strings"

	"github.com/go-git/go-git/v5/plumbing/transport"

	"soll.dev/internal/source"
)

// opError is an error whose message was written for users: it names the
// repository, never holds a secret, and matches its kind with errors.Is.
type opError struct {
	msg  string
	kind error // a source.Err* sentinel, or nil
	// cause is the underlying error, kept for errors.As/Is only when its
	// text holds no secret.
	cause error
}

func (e *opError) Error() string { return e.msg }

func (e *opError) Unwrap() []error {
	var errs []error
	if e.kind != nil {
		errs = append(errs, e.kind)
	}
	if e.cause != nil {
		errs = append(errs, e.cause)
	}
	return errs
}

// classify turns an error from a network operation on a into a user-facing
// error: known causes get a message that says what to do, everything else
// is prefixed with op and the repository, with secrets scrubbed.
func (f *Fetcher) classify(a *access, op string, err error) error {
	var (
		opErr  *opError
		hkErr  *hostKeyError
		tlsErr *tls.CertificateVerificationError
		uaErr  x509.UnknownAuthorityError
		hnErr  x509.HostnameError
		ciErr  x509.CertificateInvalidError
	)
	repo := a.ep.display
	switch {
	case errors.As(err, &opErr):
		return err
	case errors.As(err, &hkErr):
		return &opError{msg: fmt.Sprintf("%s %s: %s", op, repo, hkErr.Error()), kind: source.ErrHostKey}
	case errors.Is(err, transport.ErrAuthenticationRequired),
		errors.Is(err, transport.ErrAuthorizationFailed),
		isSSHAuthFailure(err):
		return &opError{
			msg:  fmt.Sprintf("authentication failed for %s: check the repository credentials", repo),
			kind: source.ErrAuthentication,
		}
	case errors.Is(err, transport.ErrRepositoryNotFound):
		return &opError{
			msg:  fmt.Sprintf("repository %s not found: check the URL, and that the credentials can read it", repo),
			kind: source.ErrRepositoryNotFound,
		}
	case errors.Is(err, transport.ErrEmptyRemoteRepository):
		return &opError{
			msg:  fmt.Sprintf("repository %s is empty: it has no branches or tags yet", repo),
			kind: source.ErrRevisionNotFound,
		}
	case errors.As(err, &tlsErr), errors.As(err, &uaErr), errors.As(err, &hnErr), errors.As(err, &ciErr):
		return a.scrub(fmt.Sprintf("%s %s: the server's TLS certificate is not trusted: %v; "+
			"if the server uses a private CA, set the repository's CA certificate", op, repo, err), err)
	case errors.Is(err, context.DeadlineExceeded):
		// Remote work runs detached from callers, so this deadline is
		// the Fetcher's own.
		return &opError{msg: fmt.Sprintf("%s %s: timed out after %s", op, repo, f.timeout), cause: context.DeadlineExceeded}
	}
	return a.scrub(fmt.Sprintf("%s %s: %v", op, repo, err), err)
}

// callerGaveUp reports that the caller's own context ended while it waited.
func callerGaveUp(a *access, op string, err error) error {
	return &opError{msg: fmt.Sprintf("%s %s: %v", op, a.ep.display, err), cause: err}
}

// scrub builds an opError from msg with every secret of a replaced; the
// cause is kept only if its own text holds none of them.
func (a *access) scrub(msg string, cause error) error {
	clean := true
	for _, s := range a.secrets {
		if strings.Contains(msg, s) {
			msg = strings.ReplaceAll(msg, s, "<redacted>")
			clean = false
		}
	}
	e := &opError{msg: msg}
	if clean {
		e.cause = cause
	}
	return e
}

// isSSHAuthFailure recognises x/crypto/ssh's refusal, which has no error
// type of its own.
func isSSHAuthFailure(err error) bool {
	return strings.Contains(err.Error(), "ssh: unable to authenticate")
}
