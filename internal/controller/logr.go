package controller

import (
	"log/slog"

	"github.com/go-logr/logr"
)

// logrFromSlog lets controller-runtime log through soll's slog logger.
func logrFromSlog(l *slog.Logger) logr.Logger { return logr.FromSlogHandler(l.Handler()) }
