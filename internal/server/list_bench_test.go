package server

import (
	"fmt"
	"net/url"
	"testing"

	sollv1 "soll.dev/api/v1alpha1"
)

// BenchmarkListPage filters, counts, sorts and cuts the first page of
// 10,000 apps, as GET /api/v1/applications does from the cache.
func BenchmarkListPage(b *testing.B) {
	apps := make([]sollv1.Application, 10000)
	for i := range apps {
		a := &apps[i]
		a.Name, a.Namespace = fmt.Sprintf("app-%05d", i), "soll"
		a.Labels = map[string]string{"team": fmt.Sprint(i % 20)}
		a.Spec.Source = &sollv1.ApplicationSource{RepoURL: "https://git.example.com/apps.git", Path: a.Name}
		a.Spec.Destination = sollv1.ApplicationDestination{Server: InClusterServer, Namespace: "apps"}
		a.Status.Sync = &sollv1.SyncStatus{Status: sollv1.SyncStatusSynced, Revision: fmt.Sprintf("%040d", i)}
		a.Status.Health = &sollv1.HealthStatus{Status: sollv1.HealthHealthy}
		a.Status.Resources = []sollv1.ResourceStatus{{Kind: "ConfigMap", Name: "cm"}, {Group: "apps", Kind: "Deployment", Name: "web"}}
	}
	for _, query := range []string{"", "sort=health", "search=app-09&syncStatus=Synced"} {
		b.Run("query="+query, func(b *testing.B) {
			v, _ := url.ParseQuery(query)
			q, err := parseAppQuery(v)
			if err != nil {
				b.Fatal(err)
			}
			for b.Loop() {
				if l := q.page(apps, func(*sollv1.Application) bool { return true }); l.Total == 0 {
					b.Fatal("nothing listed")
				}
			}
		})
	}
}
