package auth

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/util/retry"
	"sigs.k8s.io/controller-runtime/pkg/client"

	soll "soll.dev/api/v1alpha1"
)

// ProjectSubject is the subject of a Project role token, the name RBAC
// policies use for the role.
func ProjectSubject(project, role string) string { return "proj:" + project + ":" + role }

func parseProjectSubject(sub string) (project, role string, ok bool) {
	rest, ok := strings.CutPrefix(sub, "proj:")
	if !ok {
		return "", "", false
	}
	project, role, ok = strings.Cut(rest, ":")
	return project, role, ok && project != "" && role != ""
}

// GenerateProjectToken issues an API token for a role of a Project and
// records it in the Project's status.jwtTokensByRole; expiresIn 0 means no
// expiry.
func (m *Manager) GenerateProjectToken(ctx context.Context, project, role string, expiresIn time.Duration) (string, error) {
	token, _, err := m.IssueProjectToken(ctx, project, role, expiresIn, "")
	return token, err
}

// IssueProjectToken is GenerateProjectToken with a chosen id (empty: a
// random one) that also returns the record kept on the Project.
func (m *Manager) IssueProjectToken(ctx context.Context, project, role string, expiresIn time.Duration, id string) (string, TokenInfo, error) {
	if id == "" {
		id = randomID()
	}
	if err := checkTokenID(id); err != nil {
		return "", TokenInfo{}, err
	}
	token, exp, err := m.issue(ProjectSubject(project, role), KindProject, id, expiresIn, nil)
	if err != nil {
		return "", TokenInfo{}, err
	}
	info := TokenInfo{ID: id, IssuedAt: m.now().UTC().Truncate(time.Second)}
	entry := soll.JWTToken{ID: id, IssuedAt: metav1.NewTime(info.IssuedAt)}
	if !exp.IsZero() {
		info.ExpiresAt = exp.UTC().Truncate(time.Second)
		t := metav1.NewTime(info.ExpiresAt)
		entry.ExpiresAt = &t
	}
	err = m.patchProjectTokens(ctx, project, role, func(tokens []soll.JWTToken) ([]soll.JWTToken, error) {
		if slices.ContainsFunc(tokens, func(t soll.JWTToken) bool { return t.ID == id }) {
			return nil, fmt.Errorf("role %q of project %q already has a token with id %q: %w", role, project, id, ErrAlreadyExists)
		}
		return append(tokens, entry), nil
	})
	if err != nil {
		return "", TokenInfo{}, err
	}
	return token, info, nil
}

// RevokeProjectToken removes a token from the Project's
// status.jwtTokensByRole. Tokens declared in spec.roles[].jwtTokens are
// revoked by removing them from the spec (in Git, when the Project is
// managed from Git).
func (m *Manager) RevokeProjectToken(ctx context.Context, project, role, id string) error {
	found := false
	err := m.patchProjectTokens(ctx, project, role, func(tokens []soll.JWTToken) ([]soll.JWTToken, error) {
		n := len(tokens)
		tokens = slices.DeleteFunc(tokens, func(t soll.JWTToken) bool { return t.ID == id })
		found = len(tokens) < n
		return tokens, nil
	})
	if err != nil {
		return err
	}
	if !found {
		return fmt.Errorf("token %q of role %q in project %q: %w", id, role, project, ErrNotFound)
	}
	return nil
}

// patchProjectTokens changes the role's entry of status.jwtTokensByRole
// with an optimistic-locked status patch.
func (m *Manager) patchProjectTokens(ctx context.Context, project, role string, change func([]soll.JWTToken) ([]soll.JWTToken, error)) error {
	return retry.RetryOnConflict(retry.DefaultRetry, func() error {
		p, err := m.getProject(ctx, m.reader, project)
		if err != nil {
			return err
		}
		if !slices.ContainsFunc(p.Spec.Roles, func(r soll.ProjectRole) bool { return r.Name == role }) {
			return fmt.Errorf("project %q has no role %q in spec.roles: %w", project, role, ErrNotFound)
		}
		orig := p.DeepCopy()
		i := slices.IndexFunc(p.Status.JWTTokensByRole, func(rt soll.RoleTokens) bool { return rt.Role == role })
		if i < 0 {
			p.Status.JWTTokensByRole = append(p.Status.JWTTokensByRole, soll.RoleTokens{Role: role})
			i = len(p.Status.JWTTokensByRole) - 1
		}
		tokens, err := change(p.Status.JWTTokensByRole[i].Tokens)
		if err != nil {
			return err
		}
		p.Status.JWTTokensByRole[i].Tokens = tokens
		err = m.c.Status().Patch(ctx, p, client.MergeFromWithOptions(orig, client.MergeFromWithOptimisticLock{}))
		if err != nil && !apierrors.IsConflict(err) {
			return fmt.Errorf("patch status of project %q: %w", project, err)
		}
		return err
	})
}

func (m *Manager) getProject(ctx context.Context, r client.Reader, name string) (*soll.Project, error) {
	var p soll.Project
	err := r.Get(ctx, m.objKey(name), &p)
	if apierrors.IsNotFound(err) {
		return nil, fmt.Errorf("project %q: %w", name, ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("get project %q: %w", name, err)
	}
	return &p, nil
}

// checkProjectToken accepts a token id listed, unexpired, for the role in
// spec.roles[].jwtTokens or status.jwtTokensByRole.
func (m *Manager) checkProjectToken(ctx context.Context, r client.Reader, project, role, id string) error {
	p, err := m.getProject(ctx, r, project)
	if err != nil {
		if errors.Is(err, ErrNotFound) {
			return fmt.Errorf("%w: project %q does not exist", ErrInvalidToken, project)
		}
		return err
	}
	i := slices.IndexFunc(p.Spec.Roles, func(r soll.ProjectRole) bool { return r.Name == role })
	if i < 0 {
		return fmt.Errorf("%w: project %q has no role %q", ErrInvalidToken, project, role)
	}
	listed := slices.Clone(p.Spec.Roles[i].JWTTokens)
	for _, rt := range p.Status.JWTTokensByRole {
		if rt.Role == role {
			listed = append(listed, rt.Tokens...)
		}
	}
	now := m.now()
	for _, t := range listed {
		if subtle.ConstantTimeCompare([]byte(t.ID), []byte(id)) != 1 {
			continue
		}
		if t.ExpiresAt != nil && !now.Before(t.ExpiresAt.Time) {
			return fmt.Errorf("%w: token %q of role %q in project %q has expired", ErrInvalidToken, id, role, project)
		}
		return nil
	}
	return fmt.Errorf("%w: token %q is not listed for role %q in project %q", ErrInvalidToken, id, role, project)
}
