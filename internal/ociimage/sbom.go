package ociimage

import (
	"bytes"
	"crypto/sha256"
	"debug/buildinfo"
	"encoding/hex"
	"fmt"
	"strings"
	"time"

	spdxjson "github.com/spdx/tools-golang/json"
	"github.com/spdx/tools-golang/spdx/v2/common"
	spdx "github.com/spdx/tools-golang/spdx/v2/v2_3"
)

// SBOM returns an SPDX 2.3 document (JSON) of the Go modules linked into
// bin, a Go binary's bytes, read from the build information the Go toolchain
// embeds: the main module, every dependency with its version (a replaced
// module under its replacement) and the Go toolchain. Its time stamp is
// created, and its namespace is derived from the binary's digest, so the
// same binary gives the same document.
func SBOM(bin []byte, version string, created time.Time) ([]byte, error) {
	bi, err := buildinfo.Read(bytes.NewReader(bin))
	if err != nil {
		return nil, fmt.Errorf("SBOM: read the Go build information: %w", err)
	}
	sum := sha256.Sum256(bin)
	digest := hex.EncodeToString(sum[:])

	mainID := common.ElementID("Package-main")
	doc := &spdx.Document{
		SPDXVersion:       spdx.Version,
		DataLicense:       spdx.DataLicense,
		SPDXIdentifier:    "DOCUMENT",
		DocumentName:      "soll-" + version,
		DocumentNamespace: "https://soll.dev/spdx/soll/" + version + "/" + digest,
		CreationInfo: &spdx.CreationInfo{
			Created:  created.UTC().Format(time.RFC3339),
			Creators: []common.Creator{{CreatorType: "Tool", Creator: "soll-image-" + version}},
		},
	}
	doc.Packages = append(doc.Packages, &spdx.Package{
		PackageName:               bi.Main.Path,
		PackageSPDXIdentifier:     mainID,
		PackageVersion:            version,
		PackageFileName:           "soll",
		PackageDownloadLocation:   "NOASSERTION",
		PackageChecksums:          []common.Checksum{{Algorithm: common.SHA256, Value: digest}},
		PackageExternalReferences: []*spdx.PackageExternalReference{purl(bi.Main.Path, version)},
	})
	doc.Relationships = append(doc.Relationships, &spdx.Relationship{
		RefA:         common.MakeDocElementID("", "DOCUMENT"),
		RefB:         common.MakeDocElementID("", string(mainID)),
		Relationship: common.TypeRelationshipDescribe,
	})
	add := func(name, ver, dl string) {
		id := common.ElementID(fmt.Sprintf("Package-%d", len(doc.Packages)))
		doc.Packages = append(doc.Packages, &spdx.Package{
			PackageName:               name,
			PackageSPDXIdentifier:     id,
			PackageVersion:            ver,
			PackageDownloadLocation:   dl,
			PackageExternalReferences: []*spdx.PackageExternalReference{purl(name, ver)},
		})
		doc.Relationships = append(doc.Relationships, &spdx.Relationship{
			RefA:         common.MakeDocElementID("", string(mainID)),
			RefB:         common.MakeDocElementID("", string(id)),
			Relationship: common.TypeRelationshipDependsOn,
		})
	}
	add("stdlib", bi.GoVersion, "https://go.dev/dl/")
	for _, m := range bi.Deps {
		if m.Replace != nil {
			m = m.Replace
		}
		add(m.Path, m.Version, "NOASSERTION")
	}
	var b bytes.Buffer
	if err := spdxjson.Write(doc, &b, spdxjson.Indent("  ")); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// purl is the package URL of a Go module (or of the standard library).
func purl(path, version string) *spdx.PackageExternalReference {
	loc := "pkg:golang/" + path + "@" + version
	if path == "stdlib" {
		loc = "pkg:golang/stdlib@" + strings.TrimPrefix(version, "go")
	}
	return &spdx.PackageExternalReference{Category: "PACKAGE-MANAGER", RefType: "purl", Locator: loc}
}
