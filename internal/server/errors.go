package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"soll.dev/internal/apitypes"
)

// Error is the error of a failed request: its HTTP status and what the
// error response says (apitypes.Error).
type Error struct {
	// Code is a machine-readable class: NotFound, Invalid, Unauthorized,
	// Forbidden, Conflict, AlreadyExists, TooLarge, MethodNotAllowed,
	// RenderFailed, Timeout, NotImplemented or Internal.
	Code string `json:"code"`
	// Message says what went wrong, for people.
	Message string `json:"message"`
	// Field is the JSON path of the offending field of the request, when
	// one is to blame (spec.destination.namespace).
	Field string `json:"field,omitempty"`

	status int
}

func (e *Error) Error() string { return e.Message }

func newError(status int, code, format string, args ...any) *Error {
	return &Error{status: status, Code: code, Message: fmt.Sprintf(format, args...)}
}

func invalid(field, format string, args ...any) *Error {
	e := newError(http.StatusBadRequest, "Invalid", format, args...)
	e.Field = field
	return e
}

func notFound(format string, args ...any) *Error {
	return newError(http.StatusNotFound, "NotFound", format, args...)
}

func conflict(format string, args ...any) *Error {
	return newError(http.StatusConflict, "Conflict", format, args...)
}

// asError turns any handler error into an Error: the server's own errors
// pass through, Kubernetes API errors keep their meaning (a validation
// error names its field), anything else is an internal error whose text
// is logged, not returned.
func asError(err error) (e *Error, internal bool) {
	if errors.As(err, &e) {
		return e, false
	}
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return newError(http.StatusRequestEntityTooLarge, "TooLarge", "the request body is larger than %d bytes", mbe.Limit), false
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return newError(http.StatusGatewayTimeout, "Timeout", "the request took too long; try again"), false
	}
	var st apierrors.APIStatus
	if errors.As(err, &st) {
		s := st.Status()
		switch s.Reason {
		case metav1.StatusReasonNotFound:
			return &Error{status: http.StatusNotFound, Code: "NotFound", Message: s.Message}, false
		case metav1.StatusReasonAlreadyExists:
			return &Error{status: http.StatusConflict, Code: "AlreadyExists", Message: s.Message}, false
		case metav1.StatusReasonConflict:
			return &Error{status: http.StatusConflict, Code: "Conflict", Message: s.Message}, false
		case metav1.StatusReasonInvalid, metav1.StatusReasonBadRequest:
			e := &Error{status: http.StatusBadRequest, Code: "Invalid", Message: s.Message}
			if s.Details != nil {
				for _, c := range s.Details.Causes {
					if c.Field != "" {
						e.Field = c.Field
						break
					}
				}
			}
			return e, false
		case metav1.StatusReasonTimeout, metav1.StatusReasonServerTimeout:
			return &Error{status: http.StatusGatewayTimeout, Code: "Timeout", Message: s.Message}, false
		}
	}
	return newError(http.StatusInternalServerError, "Internal", "internal error; the server log has the details"), true
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	_ = enc.Encode(v)
}

func writeError(w http.ResponseWriter, e *Error) {
	if e.status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Bearer realm="soll"`)
	}
	writeJSON(w, e.status, apitypes.Error{Code: e.Code, Message: e.Message, Field: e.Field})
}
