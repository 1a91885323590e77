// Package tracing sends OpenTelemetry traces of soll's work (reconciles,
// comparisons, sync operations, Git requests, renders) to an OTLP
// receiver, when the standard OpenTelemetry environment names one:
// OTEL_EXPORTER_OTLP_ENDPOINT or OTEL_EXPORTER_OTLP_TRACES_ENDPOINT
// (OTLP over gRPC; OTEL_EXPORTER_OTLP_INSECURE, _HEADERS, _CERTIFICATE
// and the other OTEL_EXPORTER_OTLP_* settings apply). Without them the
// spans cost nothing: the global tracer provider is OpenTelemetry's no-op.
package tracing

import (
	"context"
	"fmt"
	"os"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
)

// Endpoint variables: either one turns tracing on.
const (
	EndpointEnv       = "OTEL_EXPORTER_OTLP_ENDPOINT"
	TracesEndpointEnv = "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"
)

// Tracer is the tracer of soll's spans.
func Tracer() trace.Tracer { return otel.Tracer("soll.dev") }

// Configured tells whether the environment names an OTLP endpoint.
func Configured() bool {
	return os.Getenv(EndpointEnv) != "" || os.Getenv(TracesEndpointEnv) != ""
}

// Setup installs, when Configured, a tracer provider that batches spans
// to the OTLP endpoint, as the service "soll" at version. The returned
// shutdown sends what is left and stops it; without an endpoint it does
// nothing.
func Setup(ctx context.Context, version string) (shutdown func(context.Context) error, err error) {
	if !Configured() {
		return func(context.Context) error { return nil }, nil
	}
	exp, err := otlptracegrpc.New(ctx)
	if err != nil {
		return nil, fmt.Errorf("OTLP trace exporter (%s): %w", EndpointEnv, err)
	}
	tp := sdktrace.NewTracerProvider(
		sdktrace.WithBatcher(exp),
		sdktrace.WithResource(resource.NewSchemaless(
			attribute.String("service.name", "soll"),
			attribute.String("service.version", version))),
	)
	otel.SetTracerProvider(tp)
	otel.SetTextMapPropagator(propagation.TraceContext{})
	return tp.Shutdown, nil
}

// End ends span, recording err as its error when not nil.
func End(span trace.Span, err error) {
	if err != nil {
		span.RecordError(err)
		span.SetStatus(codes.Error, err.Error())
	}
	span.End()
}

// TraceID is the id of ctx's trace, for log lines; "" outside a
// recorded trace.
func TraceID(ctx context.Context) string {
	sc := trace.SpanContextFromContext(ctx)
	if !sc.IsValid() {
		return ""
	}
	return sc.TraceID().String()
}
