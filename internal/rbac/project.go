package rbac

import (
	"errors"
	"fmt"
	"strings"

	sollv1 "soll.dev/api/v1alpha1"
)

// ProjectSubject is the subject of role in project: "proj:<project>:<role>".
func ProjectSubject(project, role string) string {
	return "proj:" + project + ":" + role
}

// ProjectPolicies turns the roles of p into policy lines: each role's
// policies, checked to grant only on p's own applications and logs, and a
// g line for each of its SSO groups (written group:<name>, so that a group
// is never taken for a subject of another kind, whatever its name). The error lists every policy soll
// refuses.
func ProjectPolicies(p *sollv1.Project) ([]string, error) {
	var lines []string
	var errs []error
	prefix := p.Name + "/"
	for _, role := range p.Spec.Roles {
		subject := ProjectSubject(p.Name, role.Name)
		for i, text := range role.Policies {
			text = strings.TrimSpace(text)
			r, _, problem := parseLine(text)
			switch {
			case problem != "":
			case r == nil:
				problem = fmt.Sprintf("a role's policies are p lines only: put the groups of the role in spec.roles[%s].groups", role.Name)
			case r.subject != Subject(subject):
				problem = fmt.Sprintf("the subject of this role's lines is %s, not %s", subject, r.subject)
			case r.resource != "applications" && r.resource != "logs":
				problem = fmt.Sprintf("a project role may grant on applications and logs only, not on %s", r.resource)
			case !strings.HasPrefix(r.object.pattern, prefix):
				problem = fmt.Sprintf("a project role may only grant within its project: write an object starting with %s, such as %s*", prefix, prefix)
			}
			if problem != "" {
				errs = append(errs, &LineError{
					Where:   fmt.Sprintf("project %s spec.roles[%s].policies[%d]", p.Name, role.Name, i),
					Line:    i + 1,
					Text:    text,
					Problem: problem,
				})
				continue
			}
			lines = append(lines, csvLine(append([]string{"p"}, r.fields...)))
		}
		for _, group := range role.Groups {
			lines = append(lines, csvLine([]string{"g", string(Group(group)), subject}))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return lines, nil
}
