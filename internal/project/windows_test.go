package project

import (
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	sollv1 "soll.dev/api/v1alpha1"
)

// win is a sync window for every Application, in UTC unless zoned.
func win(kind sollv1.SyncWindowKind, schedule, duration string) sollv1.SyncWindow {
	d, err := time.ParseDuration(duration)
	if err != nil {
		panic(err)
	}
	return sollv1.SyncWindow{Kind: kind, Schedule: schedule, Duration: metav1.Duration{Duration: d}, Applications: []string{"*"}}
}

func zoned(w sollv1.SyncWindow, tz string) sollv1.SyncWindow { w.TimeZone = tz; return w }

func manual(w sollv1.SyncWindow) sollv1.SyncWindow { w.ManualSync = true; return w }

// only restricts w to Applications, namespaces or clusters.
func only(w sollv1.SyncWindow, apps, namespaces, clusters []string) sollv1.SyncWindow {
	w.Applications, w.Namespaces, w.Clusters = apps, namespaces, clusters
	return w
}

func utc(s string) time.Time {
	t, err := time.Parse("2006-01-02 15:04:05", s)
	if err != nil {
		panic(err)
	}
	return t
}

func TestWindows(t *testing.T) {
	allow := sollv1.SyncWindowAllow
	deny := sollv1.SyncWindowDeny
	web := app("web", server("https://prod.example.com", "team-a-web"), "https://git.example.com/web")
	tests := []struct {
		name    string
		windows []sollv1.SyncWindow
		app     *sollv1.Application // web when nil
		now     string              // UTC
		sync    bool
		manual  bool
		reason  []string // fragments
		next    string   // UTC; empty: NextChange is nil
	}{
		{
			name: "no windows", now: "2024-06-03 12:00:00",
			sync: true, manual: true, reason: []string{"no sync window applies"},
		},
		{
			name:    "outside the allow window",
			windows: []sollv1.SyncWindow{win(allow, "0 6 * * *", "10h")},
			now:     "2024-06-03 20:00:00",
			reason:  []string{`no allow window is active; allow window "0 6 * * *" (10h, UTC) opens at 06:00`},
			next:    "2024-06-04 06:00:00",
		},
		{
			name:    "outside the allow window, manual sync allowed",
			windows: []sollv1.SyncWindow{win(allow, "0 6 * * *", "10h"), manual(win(allow, "0 20 * * 6", "1h"))},
			now:     "2024-06-03 20:00:00",
			manual:  true,
			reason:  []string{`allow window "0 6 * * *" (10h, UTC) opens at 06:00`, "manual syncs are allowed"},
			next:    "2024-06-04 06:00:00",
		},
		{
			name:    "allow window opening in more than a day",
			windows: []sollv1.SyncWindow{win(allow, "0 6 * * 1-5", "10h")},
			now:     "2024-06-08 20:00:00", // a Saturday
			reason:  []string{"opens at 2024-06-10 06:00"},
			next:    "2024-06-10 06:00:00",
		},
		{
			name:    "inside the allow window",
			windows: []sollv1.SyncWindow{win(allow, "0 6 * * *", "10h")},
			now:     "2024-06-03 10:00:00",
			sync:    true, manual: true,
			reason: []string{`allow window "0 6 * * *" (10h, UTC) is active until 16:00`},
			next:   "2024-06-03 16:00:00",
		},
		{
			name:    "allow window opens at its start",
			windows: []sollv1.SyncWindow{win(allow, "0 6 * * *", "10h")},
			now:     "2024-06-03 06:00:00",
			sync:    true, manual: true,
			next: "2024-06-03 16:00:00",
		},
		{
			name:    "allow window is closed at its end",
			windows: []sollv1.SyncWindow{win(allow, "0 6 * * *", "10h")},
			now:     "2024-06-03 16:00:00",
			next:    "2024-06-04 06:00:00",
		},
		{
			name:    "deny window active",
			windows: []sollv1.SyncWindow{win(deny, "0 22 * * *", "2h")},
			now:     "2024-06-03 22:30:00",
			reason:  []string{`deny window "0 22 * * *" (2h, UTC) is active until 00:00`},
			next:    "2024-06-04 00:00:00",
		},
		{
			name:    "deny window active with manual sync",
			windows: []sollv1.SyncWindow{manual(win(deny, "0 22 * * *", "2h"))},
			now:     "2024-06-03 22:30:00",
			manual:  true,
			reason:  []string{"is active until 00:00; manual syncs are allowed"},
			next:    "2024-06-04 00:00:00",
		},
		{
			name: "manual sync needs every open deny window to allow it",
			windows: []sollv1.SyncWindow{
				manual(win(deny, "0 22 * * *", "2h")),
				win(deny, "0 * * * *", "45m"),
			},
			now:    "2024-06-03 22:30:00",
			reason: []string{`deny window "0 * * * *" (45m, UTC) is active until 22:45 (2 deny windows in all)`},
			next:   "2024-06-03 22:45:00",
		},
		{
			name:    "deny window closed",
			windows: []sollv1.SyncWindow{win(deny, "0 22 * * *", "2h")},
			now:     "2024-06-03 12:00:00",
			sync:    true, manual: true,
			reason: []string{"no deny window is active"},
			next:   "2024-06-03 22:00:00",
		},
		{
			name: "deny wins over allow",
			windows: []sollv1.SyncWindow{
				win(allow, "0 6 * * *", "18h"),
				win(deny, "0 22 * * *", "2h"),
			},
			now:    "2024-06-03 22:30:00",
			reason: []string{"deny window"},
			next:   "2024-06-04 00:00:00",
		},
		{
			name:    "deny window in Berlin at 22:00 is 20:00 UTC in summer",
			windows: []sollv1.SyncWindow{zoned(win(deny, "0 22 * * *", "2h"), "Europe/Berlin")},
			now:     "2024-06-03 20:30:00",
			reason:  []string{`deny window "0 22 * * *" (2h, Europe/Berlin) is active until 00:00`},
			next:    "2024-06-03 22:00:00",
		},
		{
			name:    "deny window in Berlin is closed at 22:30 UTC",
			windows: []sollv1.SyncWindow{zoned(win(deny, "0 22 * * *", "2h"), "Europe/Berlin")},
			now:     "2024-06-03 22:30:00",
			sync:    true, manual: true,
			next: "2024-06-04 20:00:00",
		},
		{
			name:    "deny window in Berlin at 22:00 is 21:00 UTC in winter",
			windows: []sollv1.SyncWindow{zoned(win(deny, "0 22 * * *", "2h"), "Europe/Berlin")},
			now:     "2024-01-15 20:30:00",
			sync:    true, manual: true,
			next: "2024-01-15 21:00:00",
		},
		{
			name:    "window crossing midnight, after midnight",
			windows: []sollv1.SyncWindow{win(deny, "0 23 * * *", "3h")},
			now:     "2024-06-04 01:30:00",
			reason:  []string{"is active until 02:00"},
			next:    "2024-06-04 02:00:00",
		},
		{
			name:    "window crossing midnight, on a day it does not start",
			windows: []sollv1.SyncWindow{win(deny, "0 23 * * 5", "3h")}, // Friday night
			now:     "2024-06-08 01:30:00",                              // Saturday
			reason:  []string{"is active until 02:00"},
			next:    "2024-06-08 02:00:00",
		},
		{
			name:    "macro schedule",
			windows: []sollv1.SyncWindow{win(deny, "@daily", "1h")},
			now:     "2024-06-04 00:20:00",
			reason:  []string{`deny window "@daily" (1h, UTC) is active until 01:00`},
			next:    "2024-06-04 01:00:00",
		},
		{
			name:    "a year-long window from New Year",
			windows: []sollv1.SyncWindow{win(deny, "0 0 1 1 *", "8760h")},
			now:     "2024-07-01 00:00:00",
			reason:  []string{"is active until 2024-12-31 00:00"}, // 2024 has 366 days
			next:    "2024-12-31 00:00:00",
		},
		{
			name:    "overlapping openings extend the window",
			windows: []sollv1.SyncWindow{win(deny, "0 9-11 * * *", "90m")},
			now:     "2024-06-03 10:15:00",
			reason:  []string{"is active until 12:30"},
			next:    "2024-06-03 12:30:00",
		},
		{
			name:    "openings that meet keep the window open",
			windows: []sollv1.SyncWindow{win(deny, "0 * * * *", "1h")},
			now:     "2024-06-03 10:15:00",
			reason:  []string{`deny window "0 * * * *" (1h, UTC) is open`},
		},
		{
			name:    "openings that never stop overlapping",
			windows: []sollv1.SyncWindow{win(deny, "* * * * *", "48h")},
			now:     "2024-06-03 10:15:00",
			reason:  []string{`deny window "* * * * *" (48h, UTC) is open`},
		},
		{
			name: "next change is the soonest of the windows",
			windows: []sollv1.SyncWindow{
				win(allow, "0 6 * * *", "10h"),
				win(deny, "30 12 * * *", "30m"),
			},
			now:  "2024-06-03 10:00:00",
			sync: true, manual: true,
			next: "2024-06-03 12:30:00",
		},
		{
			name:    "window for another application",
			windows: []sollv1.SyncWindow{only(win(deny, "* * * * *", "1h"), []string{"api-*"}, nil, nil)},
			now:     "2024-06-03 10:00:00",
			sync:    true, manual: true,
			reason: []string{"no sync window applies"},
		},
		{
			name:    "an allow window for another application does not restrict",
			windows: []sollv1.SyncWindow{only(win(allow, "0 6 * * *", "1h"), []string{"api"}, nil, nil)},
			now:     "2024-06-03 10:00:00",
			sync:    true, manual: true,
		},
		{
			name:    "window by application glob",
			windows: []sollv1.SyncWindow{only(win(deny, "0 * * * *", "30m"), []string{"w*"}, nil, nil)},
			now:     "2024-06-03 10:00:00",
			next:    "2024-06-03 10:30:00",
		},
		{
			name:    "window by namespace glob",
			windows: []sollv1.SyncWindow{only(win(deny, "0 * * * *", "30m"), nil, []string{"team-a-*"}, nil)},
			now:     "2024-06-03 10:00:00",
			next:    "2024-06-03 10:30:00",
		},
		{
			name:    "window for another namespace",
			windows: []sollv1.SyncWindow{only(win(deny, "0 * * * *", "30m"), nil, []string{"team-b-*"}, nil)},
			now:     "2024-06-03 10:00:00",
			sync:    true, manual: true,
		},
		{
			name:    "window by cluster server",
			windows: []sollv1.SyncWindow{only(win(deny, "0 * * * *", "30m"), nil, nil, []string{"https://prod.*"})},
			now:     "2024-06-03 10:00:00",
			next:    "2024-06-03 10:30:00",
		},
		{
			name:    "window by cluster name",
			windows: []sollv1.SyncWindow{only(win(deny, "0 * * * *", "30m"), nil, nil, []string{"prod"})},
			app:     app("web", named("prod", "web"), "https://git.example.com/web"),
			now:     "2024-06-03 10:00:00",
			next:    "2024-06-03 10:30:00",
		},
		{
			name:    "window for another cluster",
			windows: []sollv1.SyncWindow{only(win(deny, "0 * * * *", "30m"), nil, nil, []string{"staging"})},
			app:     app("web", named("prod", "web"), "https://git.example.com/web"),
			now:     "2024-06-03 10:00:00",
			sync:    true, manual: true,
		},
		{
			name:    "window for the cluster soll runs in, by either name",
			windows: []sollv1.SyncWindow{only(win(deny, "0 * * * *", "30m"), nil, nil, []string{"in-cluster"})},
			app:     app("web", server("https://kubernetes.default.svc", "web"), "https://git.example.com/web"),
			now:     "2024-06-03 10:00:00",
			next:    "2024-06-03 10:30:00",
		},
		{
			name:    "an invalid window holds syncs back",
			windows: []sollv1.SyncWindow{win(allow, "0 25 * * *", "1h")},
			now:     "2024-06-03 10:00:00",
			reason:  []string{`allow window "0 25 * * *" (1h, UTC) cannot be evaluated`, "spec.syncWindows[0].schedule"},
		},
		{
			name:    "an invalid window with manual sync",
			windows: []sollv1.SyncWindow{manual(zoned(win(deny, "0 22 * * *", "1h"), "Mars/Olympus"))},
			now:     "2024-06-03 10:00:00",
			manual:  true,
			reason:  []string{"spec.syncWindows[0].timeZone", "manual syncs are allowed"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := tt.app
			if a == nil {
				a = web
			}
			p := project("team-a", sollv1.ProjectSpec{SyncWindows: tt.windows})
			got := Windows(p, a, utc(tt.now))
			if got.SyncAllowed != tt.sync || got.ManualAllowed != tt.manual {
				t.Errorf("sync, manual = %v, %v; want %v, %v (reason %q)", got.SyncAllowed, got.ManualAllowed, tt.sync, tt.manual, got.Reason)
			}
			for _, r := range tt.reason {
				if !strings.Contains(got.Reason, r) {
					t.Errorf("reason %q\ndoes not contain %q", got.Reason, r)
				}
			}
			switch {
			case tt.next == "" && got.NextChange != nil:
				t.Errorf("NextChange = %v, want nil", got.NextChange.UTC())
			case tt.next != "" && got.NextChange == nil:
				t.Errorf("NextChange = nil, want %s", tt.next)
			case tt.next != "" && !got.NextChange.Equal(utc(tt.next)):
				t.Errorf("NextChange = %v, want %s", got.NextChange.UTC(), tt.next)
			}
		})
	}
}

func TestValidateWindows(t *testing.T) {
	tests := []struct {
		name   string
		window sollv1.SyncWindow
		want   []string
	}{
		{name: "valid", window: win(sollv1.SyncWindowDeny, "0 22 * * 1-5", "2h")},
		{name: "valid in a zone", window: zoned(win(sollv1.SyncWindowDeny, "0 22 * * *", "2h"), "Europe/Berlin")},
		{name: "valid macro", window: win(sollv1.SyncWindowDeny, "@weekly", "2h")},
		{
			name:   "hour out of range",
			window: win(sollv1.SyncWindowDeny, "0 25 * * *", "2h"),
			want:   []string{`spec.syncWindows[1].schedule: "0 25 * * *" is not a cron schedule`},
		},
		{
			name:   "six fields",
			window: win(sollv1.SyncWindowDeny, "0 0 22 * * *", "2h"),
			want:   []string{"spec.syncWindows[1].schedule"},
		},
		{
			name:   "time zone in the schedule",
			window: win(sollv1.SyncWindowDeny, "CRON_TZ=Europe/Berlin 0 22 * * *", "2h"),
			want:   []string{"spec.syncWindows[1].schedule", "set timeZone instead"},
		},
		{
			name:   "every",
			window: win(sollv1.SyncWindowDeny, "@every 1h", "2h"),
			want:   []string{"spec.syncWindows[1].schedule", "fixed start times"},
		},
		{
			name:   "unknown zone",
			window: zoned(win(sollv1.SyncWindowDeny, "0 22 * * *", "2h"), "Europe/Atlantis"),
			want:   []string{`spec.syncWindows[1].timeZone: "Europe/Atlantis" is not an IANA time zone`},
		},
		{
			name:   "local zone",
			window: zoned(win(sollv1.SyncWindowDeny, "0 22 * * *", "2h"), "Local"),
			want:   []string{"spec.syncWindows[1].timeZone"},
		},
		{
			name:   "zero duration",
			window: win(sollv1.SyncWindowDeny, "0 22 * * *", "0s"),
			want:   []string{"spec.syncWindows[1].duration"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := project("team-a", sollv1.ProjectSpec{SyncWindows: []sollv1.SyncWindow{
				win(sollv1.SyncWindowAllow, "0 6 * * *", "1h"), tt.window,
			}})
			checkErr(t, ValidateWindows(p), tt.want...)
		})
	}
}

func TestValidateWindowsReportsAll(t *testing.T) {
	p := project("team-a", sollv1.ProjectSpec{SyncWindows: []sollv1.SyncWindow{
		zoned(win(sollv1.SyncWindowDeny, "nope", "1h"), "Nowhere/City"),
		win(sollv1.SyncWindowDeny, "0 22 * * *", "-1h"),
	}})
	checkErr(t, ValidateWindows(p),
		"spec.syncWindows[0].schedule", "spec.syncWindows[0].timeZone", "spec.syncWindows[1].duration")
}

// A year-long window with an hourly schedule would take 8,760 steps to find
// its latest start one hour at a time; Windows asks the schedule once.
func BenchmarkWindowsLongDuration(b *testing.B) {
	p := project("team-a", sollv1.ProjectSpec{SyncWindows: []sollv1.SyncWindow{
		win(sollv1.SyncWindowAllow, "0 0 1 1 *", "8000h"),
		win(sollv1.SyncWindowDeny, "0 22 * * *", "2h"),
	}})
	a := app("web", server("https://prod", "web"), "https://git.example.com/web")
	now := utc("2024-06-03 10:00:00")
	for b.Loop() {
		Windows(p, a, now)
	}
}
