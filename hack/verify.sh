#!/usr/bin/env bash
# verify.sh fails when the committed tree is not what the tools would make of
# it: generated code or CRDs out of date with api/, the API reference out of
# date with the server's routes, the Helm chart's copy of the CRDs stale,
# go.mod/go.sum files not tidy, or Go files not gofmt'ed. CI runs it (`make
# verify`) on a fresh clone.
#
# It regenerates in place, in the work tree, and then asks git what changed.
# The generators (controller-gen, go mod tidy) work on the module where it
# is; running them on a copy would mean copying every module and its
# replace targets and still trusting the copy to behave like the original.
# In CI the tree is a clean checkout, so in-place regeneration changes
# nothing unless something is stale, and git shows exactly what. Locally, the
# regenerated files are what you would commit anyway: after a failure, look
# at `git diff`, then commit the result.
#
# The comparison is against HEAD, so uncommitted changes in the checked paths
# count as differences; the report says which files were already modified
# before this script ran.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

GO=${GO:-go}
MAKE=${MAKE:-make}

failed=0
fail() {
	printf '\nverify: FAIL: %s\n' "$1" >&2
	failed=1
}

# Modules whose go.mod/go.sum must be tidy: the root module, the local
# cluster module and the modules that build the cluster's components.
modules=(.)
[[ -f localcluster/go.mod ]] && modules+=(localcluster)
for mod in localcluster/build/*/go.mod; do
	[[ -f $mod ]] && modules+=("$(dirname "$mod")")
done

# Paths that regeneration may change; they must match HEAD afterwards.
checked=(api config/crd deploy/chart/soll/crds docs/user/api-reference.md docs/user/cli-reference.md)
for m in "${modules[@]}"; do
	checked+=("$m/go.mod")
	[[ -f $m/go.sum ]] && checked+=("$m/go.sum")
done
checked=("${checked[@]#./}")

if git rev-parse --verify --quiet HEAD >/dev/null; then
	base=HEAD
else
	# No commit yet: compare with the empty tree, so that everything counts
	# as uncommitted.
	base=$(git hash-object -t tree /dev/null)
fi

# Remember what was already modified, to tell it apart in the report.
modified_before=$(git status --porcelain --untracked-files=all -- "${checked[@]}")

echo "verify: regenerating deepcopy code, CRDs and the API reference (make generate)"
# controller-gen overwrites what it generates but never deletes a file, so a
# CRD or deepcopy file of a removed type would survive. Delete them first;
# whatever is still wanted comes back identical and git sees no change.
find api -name zz_generated.deepcopy.go -delete
rm -f config/crd/soll.dev_*.yaml
"$MAKE" --no-print-directory generate

for m in "${modules[@]}"; do
	echo "verify: go mod tidy in $m"
	(cd "$m" && "$GO" mod tidy)
done

echo "verify: gofmt"
# Tracked files plus new files not ignored, so a local run also covers files
# not added yet; in CI both sets are the same.
mapfile -t gofiles < <(git ls-files --cached --others --exclude-standard -- '*.go')
existing=()
for f in "${gofiles[@]}"; do
	[[ -f $f ]] && existing+=("$f")
done
if ((${#existing[@]} > 0)); then
	unformatted=$(gofmt -l "${existing[@]}")
	if [[ -n $unformatted ]]; then
		fail "these files need gofmt (run: gofmt -w <file>):
$unformatted"
	fi
fi

echo "verify: comparing generated files and go.mod/go.sum with $([[ $base == HEAD ]] && echo HEAD || echo 'the empty tree (no commit yet)')"
changed=$(git diff --name-only "$base" -- "${checked[@]}")
untracked=$(git ls-files --others --exclude-standard -- "${checked[@]}")
if [[ -n $changed || -n $untracked ]]; then
	msg="generated files or go.mod/go.sum differ from what is committed.
Run 'make generate' and 'go mod tidy' in each module, review 'git diff', and commit the result."
	[[ -n $changed ]] && msg+="
differ from the commit (changed or deleted):
$(sed 's/^/  /' <<<"$changed")"
	[[ -n $untracked ]] && msg+="
not committed (new files):
$(sed 's/^/  /' <<<"$untracked")"
	[[ -n $modified_before ]] && msg+="
already modified before verify ran (uncommitted work counts as a difference):
$(sed 's/^/  /' <<<"$modified_before")"
	fail "$msg"
	git --no-pager diff --stat "$base" -- "${checked[@]}" >&2 || true
fi

if ((failed)); then
	exit 1
fi
echo "verify: OK"
