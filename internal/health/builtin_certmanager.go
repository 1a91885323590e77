package health

import (
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// certManagerChecks: cert-manager (group cert-manager.io). Every kind sums
// its state up in a Ready condition whose observedGeneration says which spec
// it describes.
var certManagerChecks = map[schema.GroupKind]builtinCheck{
	{Group: "cert-manager.io", Kind: "Certificate"}:        certificateHealth,
	{Group: "cert-manager.io", Kind: "CertificateRequest"}: certificateRequestHealth,
	{Group: "cert-manager.io", Kind: "Issuer"}:             readyCheck{condition: "Ready"}.check,
	{Group: "cert-manager.io", Kind: "ClusterIssuer"}:      readyCheck{condition: "Ready"}.check,
}

// certificateHealth: Ready True means a valid certificate is in the Secret.
// While cert-manager issues one (Issuing True) the certificate is
// Progressing, even when Ready is False because the old one is missing or
// expired. Ready False with no issuance under way means the last attempt
// failed (status.lastFailureTime) and cert-manager waits before retrying:
// Degraded.
func certificateHealth(obj *unstructured.Unstructured) (Result, error) {
	conds := readConditions(obj)
	ready := findCondition(conds, "Ready")
	if res, stale := staleCondition(obj, ready); stale {
		return res, nil
	}
	issuing := findCondition(conds, "Issuing")
	if isTrue(issuing) {
		return progressing("%s", conditionMessage(issuing.Reason, issuing.Message)), nil
	}
	// After a failed issuance Issuing turns False with the failed request's
	// reason and says why, and status.lastFailureTime is set; cert-manager
	// retries later with a back-off.
	failed := issuing != nil && issuing.Status == "False" && (issuing.Reason == "Failed" || stringField(obj, "status", "lastFailureTime") != "")
	if failed && !isTrue(ready) {
		return degraded("%s", conditionMessage(issuing.Reason, issuing.Message)), nil
	}
	return readyCheck{condition: "Ready"}.judge(ready), nil
}

// certificateRequestHealth: Ready True (reason Issued) once signed; Ready
// False with reason Pending while the issuer works; Failed, Denied or an
// InvalidRequest condition are final.
func certificateRequestHealth(obj *unstructured.Unstructured) (Result, error) {
	conds := readConditions(obj)
	for _, typ := range []string{"InvalidRequest", "Denied"} {
		if c := findCondition(conds, typ); isTrue(c) {
			return degraded("%s", conditionMessage(c.Reason, c.Message)), nil
		}
	}
	return readyCheck{condition: "Ready", notYet: []string{"Pending"}}.check(obj)
}
