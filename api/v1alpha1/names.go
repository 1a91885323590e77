package v1alpha1

// Annotations users and soll's components set on an Application to talk to
// the controller. They live here, in the API package, so that every
// component (controller, API server, webhooks, CLI) shares one spelling
// without depending on another.
const (
	// RefreshAnnotation asks the controller to compare the Application
	// now: "normal" lists its repositories' refs anew (coalesced per
	// repository), "hard" also bypasses the controller's caches. The
	// controller removes it once the request is handled.
	RefreshAnnotation = "soll.dev/refresh"
	// RefreshPushAnnotation names the webhook delivery (a random token)
	// that asked for a refresh, beside RefreshAnnotation. Every
	// Application refreshed for one push carries the same token, so the
	// controller lists the pushed repository once for all of them. Only
	// soll's webhook handler sets it; a refresh requested through the API
	// or the CLI removes it (its request is newer than the push).
	RefreshPushAnnotation = "soll.dev/refresh-push"
)
