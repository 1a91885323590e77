package webhook

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"net/url"
	"os"
	"time"

	"soll.dev/internal/apitypes"
)

// Path is where soll serves the Handler.
const Path = "/api/webhook"

// Defaults for the limits in Config.
const (
	DefaultMaxBodyBytes = 1 << 20
	DefaultTimeout      = 10 * time.Second
)

// maxChanges bounds the ref changes one payload may carry, and so the
// number of OnPush calls one request makes. A bigger push (a mirror of
// hundreds of tags) is refused and left to the periodic refresh.
const maxChanges = 100

// Config holds the shared secrets and limits of a Handler. An empty secret
// means the provider is not configured: its requests are refused unless
// AllowUnsigned is set.
type Config struct {
	// GitHubSecret verifies X-Hub-Signature-256 (HMAC-SHA256).
	GitHubSecret string
	// GitLabSecret is compared with X-Gitlab-Token.
	GitLabSecret string
	// BitbucketServerSecret verifies X-Hub-Signature (HMAC-SHA256).
	BitbucketServerSecret string
	// BitbucketCloudToken is compared with the "token" query parameter of
	// the webhook URL, for Bitbucket Cloud webhooks without a secret. It
	// travels in the URL, so it ends up in Bitbucket's webhook settings and
	// in access logs of proxies on the way: prefer BitbucketCloudSecret.
	BitbucketCloudToken string
	// BitbucketCloudSecret verifies X-Hub-Signature (HMAC-SHA256) of
	// Bitbucket Cloud webhooks that have a secret. When both it and
	// BitbucketCloudToken are set, a request must pass both.
	BitbucketCloudSecret string
	// GiteaSecret verifies X-Gitea-Signature, and X-Forgejo-Signature for
	// Forgejo (HMAC-SHA256, hex).
	GiteaSecret string
	// GenericSecret verifies X-Soll-Signature (HMAC-SHA256, "sha256=hex").
	GenericSecret string

	// AllowUnsigned accepts requests from providers whose secret is empty.
	// Anyone who can reach the endpoint can then trigger refreshes.
	AllowUnsigned bool

	// MaxBodyBytes caps the request body; zero means DefaultMaxBodyBytes.
	MaxBodyBytes int64
	// Timeout bounds reading the body and the OnPush calls together; zero
	// means DefaultTimeout.
	Timeout time.Duration
}

// Push is one ref update a webhook reported.
type Push struct {
	// Provider is the sender: "github", "gitlab", "bitbucket-cloud",
	// "bitbucket-server", "gitea", "forgejo" or "generic".
	Provider string
	// RepoURLs are every URL of the repository the payload names: HTTPS
	// and SSH clone URLs and the web URL.
	RepoURLs []string
	// Ref is the full ref name, such as "refs/heads/main".
	Ref string
	// Branch is the branch name when Ref is a branch, Tag the tag name
	// when Ref is a tag.
	Branch, Tag string
	// After is the commit the ref points to now; empty when the ref was
	// deleted or the payload does not say.
	After string
	// DefaultBranch is the repository's default branch when the payload
	// says; Bitbucket payloads usually do not.
	DefaultBranch string
}

// Handler serves Path. OnPush is called once for each ref change of an
// authenticated push, synchronously, and the answer reports the sum of the
// counts it returns as {"matched": n}. A nil OnPush matches nothing.
type Handler struct {
	Config Config
	OnPush func(ctx context.Context, p Push) (matched int, err error)
	// Log receives one record per request; nil means slog.Default().
	Log *slog.Logger
}

var _ http.Handler = (*Handler)(nil)

// errorBody is the JSON answer to a refused request.
type errorBody struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

type ignoredBody struct {
	Ignored bool   `json:"ignored"`
	Message string `json:"message"`
}

// ServeHTTP authenticates, parses and dispatches one webhook request.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	log := h.Log
	if log == nil {
		log = slog.Default()
	}
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		writeJSON(w, http.StatusMethodNotAllowed, errorBody{"method_not_allowed", "webhooks must be sent with POST"})
		return
	}
	prov, event := detect(r.Header)
	log = log.With("provider", prov.name, "event", event)
	if !prov.enabled(&h.Config) {
		log.Warn("webhook refused: provider not configured")
		writeJSON(w, http.StatusUnauthorized, errorBody{"unauthorized",
			prov.name + " webhooks are not accepted: no secret is configured for them"})
		return
	}

	ctx, cancel := context.WithTimeout(r.Context(), h.timeout())
	defer cancel()
	body, berr := h.readBody(ctx, w, r)
	if berr != nil {
		log.Warn("webhook refused: reading body", "error", berr.message)
		writeJSON(w, berr.status, errorBody{berr.code, berr.message})
		return
	}
	if err := prov.verify(&h.Config, r.Header, r.URL.Query(), body); err != nil {
		log.Warn("webhook refused: authentication", "error", err)
		writeJSON(w, http.StatusUnauthorized, errorBody{"unauthorized", err.Error()})
		return
	}
	if !prov.isPush(event) {
		log.Info("webhook ignored: not a push")
		writeJSON(w, http.StatusAccepted, ignoredBody{true, fmt.Sprintf("%s event %q is not a push", prov.name, event)})
		return
	}
	body, ferr := formPayload(r, body)
	if ferr != nil {
		writeJSON(w, http.StatusBadRequest, errorBody{"malformed_payload", ferr.Error()})
		return
	}
	pushes, err := prov.parse(body)
	if err != nil {
		log.Warn("webhook refused: payload", "error", err)
		writeJSON(w, http.StatusBadRequest, payloadError(err))
		return
	}
	if len(pushes) == 0 {
		writeJSON(w, http.StatusAccepted, ignoredBody{true, "the push changes no branch or tag"})
		return
	}
	matched, err := h.dispatch(ctx, log, pushes)
	if err != nil {
		log.Error("webhook refresh failed", "error", err)
		writeJSON(w, http.StatusInternalServerError, errorBody{"refresh_failed", "refreshing the matching applications failed; see soll's log"})
		return
	}
	writeJSON(w, http.StatusOK, apitypes.WebhookResult{Matched: matched})
}

func (h *Handler) dispatch(ctx context.Context, log *slog.Logger, pushes []Push) (int, error) {
	total := 0
	var errs []error
	for _, p := range pushes {
		if h.OnPush == nil {
			continue
		}
		n, err := h.OnPush(ctx, p)
		total += n
		log.Info("webhook push", "repo", p.RepoURLs[0], "ref", p.Ref, "after", p.After, "matched", n)
		if err != nil {
			errs = append(errs, fmt.Errorf("push of %s to %s: %w", p.Ref, p.RepoURLs[0], err))
		}
	}
	return total, errors.Join(errs...)
}

func (h *Handler) timeout() time.Duration {
	if h.Config.Timeout > 0 {
		return h.Config.Timeout
	}
	return DefaultTimeout
}

// readBody reads the capped body before ctx's deadline. The deadline is
// set on the connection, so a client that stalls mid-body is cut off; a
// ResponseWriter without a connection (a test recorder) reads unbounded
// in time but still capped in size.
func (h *Handler) readBody(ctx context.Context, w http.ResponseWriter, r *http.Request) ([]byte, *bodyError) {
	limit := h.Config.MaxBodyBytes
	if limit <= 0 {
		limit = DefaultMaxBodyBytes
	}
	if deadline, ok := ctx.Deadline(); ok {
		_ = http.NewResponseController(w).SetReadDeadline(deadline)
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, limit))
	var tooBig *http.MaxBytesError
	switch {
	case err == nil:
		return body, nil
	case errors.As(err, &tooBig):
		return nil, &bodyError{http.StatusRequestEntityTooLarge, "payload_too_large", fmt.Sprintf("the body is larger than %d bytes", limit)}
	case errors.Is(err, os.ErrDeadlineExceeded) || ctx.Err() != nil:
		return nil, &bodyError{http.StatusRequestTimeout, "read_timeout", fmt.Sprintf("the body was not received within %s", h.timeout())}
	default:
		return nil, &bodyError{http.StatusBadRequest, "unreadable_body", "read body: " + err.Error()}
	}
}

// bodyError is why a body could not be read, as answered to the sender.
type bodyError struct {
	status        int
	code, message string
}

// formPayload returns the JSON of a form-encoded webhook (GitHub's and
// Gitea's "application/x-www-form-urlencoded" option), which is in the
// "payload" field; other bodies are returned unchanged. Signatures cover the
// raw body, so this runs after verification.
func formPayload(r *http.Request, body []byte) ([]byte, error) {
	mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if mt != "application/x-www-form-urlencoded" {
		return body, nil
	}
	v, err := url.ParseQuery(string(body))
	if err != nil {
		return nil, fmt.Errorf("form-encoded body: %w", err)
	}
	if !v.Has("payload") {
		return nil, errors.New(`form-encoded body has no "payload" field`)
	}
	return []byte(v.Get("payload")), nil
}

// payloadError tells malformed JSON apart from well-formed JSON that is not
// the push the headers announced.
func payloadError(err error) errorBody {
	var syntax *json.SyntaxError
	if errors.As(err, &syntax) || errors.Is(err, io.ErrUnexpectedEOF) {
		return errorBody{"malformed_payload", err.Error()}
	}
	return errorBody{"unexpected_payload", err.Error()}
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
