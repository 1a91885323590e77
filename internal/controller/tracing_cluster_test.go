package controller_test

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"log/slog"
	"net"
	"strings"
	gosync "sync"
	"testing"
	"time"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/trace/noop"
	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/grpc"

	sollv1 "soll.dev/api/v1alpha1"
	"soll.dev/internal/testenv"
	"soll.dev/internal/tracing"
)

// receiver is an OTLP/gRPC trace receiver that keeps what it is sent.
type receiver struct {
	coltracepb.UnimplementedTraceServiceServer
	mu    gosync.Mutex
	spans []*tracepb.Span
}

func (r *receiver) Export(_ context.Context, req *coltracepb.ExportTraceServiceRequest) (*coltracepb.ExportTraceServiceResponse, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, rs := range req.GetResourceSpans() {
		for _, ss := range rs.GetScopeSpans() {
			r.spans = append(r.spans, ss.GetSpans()...)
		}
	}
	return &coltracepb.ExportTraceServiceResponse{}, nil
}

func (r *receiver) received() []*tracepb.Span {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]*tracepb.Span(nil), r.spans...)
}

func attr(s *tracepb.Span, key string) string {
	for _, kv := range s.GetAttributes() {
		if kv.GetKey() == key {
			return kv.GetValue().GetStringValue()
		}
	}
	return ""
}

// TestSyncTrace: with OTEL_EXPORTER_OTLP_ENDPOINT set, the sync of an
// app reaches an OTLP receiver as one trace: the reconcile (with the app)
// and, inside it, the comparison, the Git requests, the render and the
// sync operation. Every log line of an app's reconciles carries the id of
// its reconcile's trace: the operation's, and a failed comparison's.
func TestSyncTrace(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	rcv := &receiver{}
	srv := grpc.NewServer()
	coltracepb.RegisterTraceServiceServer(srv, rcv)
	go func() { _ = srv.Serve(l) }()
	t.Cleanup(srv.Stop)
	t.Setenv(tracing.EndpointEnv, "http://"+l.Addr().String())
	t.Setenv("OTEL_EXPORTER_OTLP_INSECURE", "true")
	shutdown, err := tracing.Setup(context.Background(), "test")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { otel.SetTracerProvider(noop.NewTracerProvider()) })

	logs := &testenv.SyncBuffer{}
	h := newHarnessWith(t, harnessOptions{
		files: map[string]string{"app/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: traced}\ndata: {a: b}\n"},
		log:   slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
	})
	h.createAppNamed("traced", "app", func(a *sollv1.Application) {
		a.Spec.SyncPolicy = &sollv1.SyncPolicy{Automated: &sollv1.AutomatedSyncPolicy{}}
	})
	h.waitForApp("traced", "synced by an operation", time.Minute, func(a *sollv1.Application) bool {
		return syncedHealthy(a) && a.Status.OperationState != nil && a.Status.OperationState.Phase == sollv1.OperationSucceeded
	})
	// An app whose comparison fails logs outside any operation.
	h.createAppNamed("untraceable", "no-such-path", nil)
	h.waitForApp("untraceable", "a failed comparison", time.Minute, func(a *sollv1.Application) bool { return comparisonFailure(a) != nil })
	h.stopController()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := shutdown(ctx); err != nil {
		t.Fatalf("flush the traces: %v", err)
	}

	// The reconcile that ran the sync, and the spans of its trace.
	app := h.sollNS + "/traced"
	spans := rcv.received()
	var syncTrace string
	for _, s := range spans {
		if s.GetName() == "soll.sync" {
			syncTrace = hex.EncodeToString(s.GetTraceId())
		}
	}
	if syncTrace == "" {
		t.Fatalf("no soll.sync span among %d received", len(spans))
	}
	names := map[string]*tracepb.Span{}
	for _, s := range spans {
		if hex.EncodeToString(s.GetTraceId()) == syncTrace {
			names[s.GetName()] = s
		}
	}
	root := names["soll.reconcile"]
	if root == nil || attr(root, "soll.app") != app || len(root.GetParentSpanId()) != 0 {
		t.Fatalf("the sync's trace has no root soll.reconcile of %s: %v", app, root)
	}
	for _, name := range []string{"soll.compare", "soll.sync"} {
		if s := names[name]; s == nil || hex.EncodeToString(s.GetParentSpanId()) != hex.EncodeToString(root.GetSpanId()) {
			t.Errorf("%s: not a child of the reconcile (%v)", name, s)
		}
	}
	// Every line of an app's reconciles leads to the trace of its
	// reconcile, the operation's to the sync's.
	reconciles := map[string]bool{} // app and trace id
	for _, s := range spans {
		if s.GetName() == "soll.reconcile" {
			reconciles[attr(s, "soll.app")+" "+hex.EncodeToString(s.GetTraceId())] = true
		}
	}
	msgs := map[string]bool{} // app and message
	for _, line := range strings.Split(logs.String(), "\n") {
		var l map[string]any
		if json.Unmarshal([]byte(line), &l) != nil {
			continue
		}
		lineApp, _ := l["app"].(string)
		msg, _ := l["msg"].(string)
		id, _ := l["trace_id"].(string)
		if lineApp == "" {
			continue
		}
		msgs[lineApp+" "+msg] = true
		switch {
		case lineApp == app && (msg == "operation started" || msg == "operation finished"):
			if id != syncTrace {
				t.Errorf("%s: trace_id %q, want %s, that of the sync", msg, id, syncTrace)
			}
		case !reconciles[lineApp+" "+id]:
			t.Errorf("%s of %s: trace_id %q is not that of a reconcile of the app", msg, lineApp, id)
		}
	}
	for _, want := range []string{app + " operation started", app + " operation finished", h.sollNS + "/untraceable comparison failed"} {
		if !msgs[want] {
			t.Errorf("no line %q; lines: %v", want, msgs)
		}
	}

	for _, want := range []struct{ name, key, value string }{
		{"git ls-remote", "soll.repo", ""},
		{"render", "soll.tool", "Directory"},
	} {
		found := false
		for _, s := range spans {
			if s.GetName() == want.name && reconciles[app+" "+hex.EncodeToString(s.GetTraceId())] && (want.value == "" || attr(s, want.key) == want.value) {
				found = true
			}
		}
		if !found {
			t.Errorf("no %s span in the app's traces", want.name)
		}
	}
}
