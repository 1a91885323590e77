package server

import (
	"context"
	"log/slog"
	"net/http"
	"runtime/debug"
	"strings"
	"sync/atomic"
	"time"

	"soll.dev/internal/metrics"
)

// recoverPanics turns a panicking handler into a 500 JSON answer; the
// stack goes to the log, never to the client.
func (s *Server) recoverPanics(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			v := recover()
			if v == nil || v == http.ErrAbortHandler {
				if v != nil {
					panic(v)
				}
				return
			}
			s.log.Error("handler panicked", "method", r.Method, "path", r.URL.Path, "panic", v, "stack", string(debug.Stack()))
			writeError(w, newError(http.StatusInternalServerError, "Internal", "internal error; the server log has the details"))
		}()
		next.ServeHTTP(w, r)
	})
}

// accessLog logs one line per request: method, path (never the query,
// which may hold a token), status, size, duration and subject. Bodies and
// headers are never logged. It records the request's metrics by route
// template too.
func (s *Server) accessLog(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rw := metrics.NewRecorder(w)
		subject := new(atomic.Value)
		r = r.WithContext(withSubject(r.Context(), subject))
		defer func() {
			// The router sets the pattern it matched on r, the request it
			// was handed: "GET /api/v1/applications/{name}".
			_, route, _ := strings.Cut(r.Pattern, " ")
			metrics.ObserveHTTP(route, r.Method, rw.Status, start)
			sub, _ := subject.Load().(string)
			s.log.LogAttrs(r.Context(), slog.LevelInfo, "request",
				slog.String("method", r.Method), slog.String("path", r.URL.Path),
				slog.Int("status", rw.Status), slog.Int64("bytes", rw.Bytes),
				slog.Duration("duration", time.Since(start)), slog.String("subject", sub),
				slog.String("remote", r.RemoteAddr))
		}()
		next.ServeHTTP(rw, r)
	})
}

type subjectKey struct{}

// withSubject gives the access log a place where authentication leaves
// the subject it found.
func withSubject(ctx context.Context, v *atomic.Value) context.Context {
	return context.WithValue(ctx, subjectKey{}, v)
}

func setSubject(r *http.Request, subject string) {
	if v, ok := r.Context().Value(subjectKey{}).(*atomic.Value); ok {
		v.Store(subject)
	}
}
